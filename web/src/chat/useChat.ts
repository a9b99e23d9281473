// React bindings of the chat client: its state, and a re-render on events.
import { useEffect, useReducer, useSyncExternalStore } from "react";
import { ClientEvent, RoomEvent, RoomMemberEvent, MatrixEventEvent, RoomStateEvent, type MatrixClient } from "matrix-js-sdk";
import { getChat, type Chat } from "./client";

export function useChat(bureauUserId: string): Chat {
    const chat = getChat(bureauUserId);
    useSyncExternalStore(
        (cb) => {
            chat.listeners.add(cb);
            return () => chat.listeners.delete(cb);
        },
        () => `${chat.state.status}/${chat.crypto}`
    );
    return chat;
}

/** Re-renders when anything shown in the Messagerie may have changed. */
export function useClientVersion(client: MatrixClient): number {
    const [version, bump] = useReducer((n: number) => n + 1, 0);
    useEffect(() => {
        let frame = 0;
        const schedule = () => {
            if (frame) return;
            frame = requestAnimationFrame(() => {
                frame = 0;
                bump();
            });
        };
        const events = [
            ClientEvent.Room,
            ClientEvent.DeleteRoom,
            ClientEvent.AccountData,
            ClientEvent.Sync,
            RoomEvent.Timeline,
            RoomEvent.TimelineReset,
            RoomEvent.LocalEchoUpdated,
            RoomEvent.MyMembership,
            RoomEvent.Name,
            RoomEvent.Receipt,
            RoomEvent.UnreadNotifications,
            RoomMemberEvent.Typing,
            RoomMemberEvent.Name,
            RoomStateEvent.Members,
            MatrixEventEvent.Decrypted
        ] as const;
        for (const e of events) client.on(e as never, schedule as never);
        return () => {
            for (const e of events) client.off(e as never, schedule as never);
            cancelAnimationFrame(frame);
        };
    }, [client]);
    return version;
}
