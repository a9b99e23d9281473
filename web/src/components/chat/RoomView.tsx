// A conversation: header, timeline with back-pagination, typing indicator,
// read receipts and the composer. Invitations show a "Rejoindre" panel.
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Alert } from "@codegouvfr/react-dsfr/Alert";
import { Button } from "@codegouvfr/react-dsfr/Button";
import { KnownMembership, MsgType, type MatrixClient, type Room } from "matrix-js-sdk";
import { canPaginateBack, joinRoom, memberName, roomMessages, setLocalReadTs } from "../../chat/client";
import { CHAT_ROOT } from "../../chat/ids";
import { formatTime, groupMessages, readByText, typingText, type Msg } from "../../chat/timeline";
import { chatErrorMessage } from "../../chat/session";
import { Link, navigate } from "../../router";
import { AttachButton, AttachmentView } from "./Attachment";
import { Avatar } from "./Avatar";

type Props = { client: MatrixClient; roomId: string; version: number; e2ee: boolean };

export function RoomView({ client, roomId, version, e2ee }: Props) {
    const room = client.getRoom(roomId);
    if (!room || (room.getMyMembership() !== KnownMembership.Join && room.getMyMembership() !== KnownMembership.Invite)) {
        return (
            <div className="bureau-chat__placeholder">
                <BackLink />
                <p>Cette conversation n'existe pas ou vous n'en faites plus partie.</p>
            </div>
        );
    }
    if (room.getMyMembership() === KnownMembership.Invite) return <Invitation client={client} room={room} />;
    return <Conversation client={client} room={room} version={version} e2ee={e2ee} />;
}

function BackLink() {
    return (
        <Link href={CHAT_ROOT} className={`${fr.cx("fr-link", "fr-icon-arrow-left-line", "fr-link--icon-left")} bureau-chat__back`}>
            Conversations
        </Link>
    );
}

function Invitation({ client, room }: { client: MatrixClient; room: Room }) {
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState("");
    const me = client.getUserId() ?? "";
    const inviter = room.getMember(me)?.events.member?.getSender() ?? "";
    const act = async (fn: () => Promise<unknown>, after?: () => void) => {
        setBusy(true);
        setError("");
        try {
            await fn();
            after?.();
        } catch (err) {
            setError(chatErrorMessage(err));
        } finally {
            setBusy(false);
        }
    };
    return (
        <div className="bureau-chat__invitation">
            <BackLink />
            <Avatar name={room.name} />
            <h2 className={fr.cx("fr-h5", "fr-mt-2w")}>{room.name}</h2>
            <p>{inviter ? `${memberName(room, inviter)} vous invite à rejoindre cette conversation.` : "Vous êtes invité à rejoindre cette conversation."}</p>
            {error && <Alert small severity="error" description={error} className={fr.cx("fr-mb-2w")} />}
            <div className="bureau-chat__invite-buttons">
                <Button disabled={busy} onClick={() => void act(() => joinRoom(client, room))}>
                    Rejoindre
                </Button>
                <Button priority="secondary" disabled={busy} onClick={() => void act(() => client.leave(room.roomId), () => navigate(CHAT_ROOT))}>
                    Refuser
                </Button>
            </div>
        </div>
    );
}

function Conversation({ client, room, version, e2ee }: { client: MatrixClient; room: Room; version: number; e2ee: boolean }) {
    const me = client.getUserId() ?? "";
    // eslint-disable-next-line react-hooks/exhaustive-deps
    const msgs = useMemo(() => roomMessages(room), [room, version]);
    const items = useMemo(() => groupMessages(msgs), [msgs]);
    const encrypted = room.hasEncryptionStateEvent();
    const [error, setError] = useState("");
    const [loadingOlder, setLoadingOlder] = useState(false);
    const scroller = useRef<HTMLDivElement>(null);
    const atBottom = useRef(true);
    const anchor = useRef<{ height: number; top: number } | null>(null);
    const hasMore = canPaginateBack(room);

    const loadOlder = useCallback(async () => {
        if (loadingOlder || !canPaginateBack(room)) return;
        const el = scroller.current;
        if (el) anchor.current = { height: el.scrollHeight, top: el.scrollTop };
        setLoadingOlder(true);
        try {
            await client.scrollback(room, 30);
        } catch (err) {
            anchor.current = null;
            setError(chatErrorMessage(err));
        } finally {
            setLoadingOlder(false);
        }
    }, [client, room, loadingOlder]);

    // Keep the view: at the bottom when it was, in place after loading older messages.
    useLayoutEffect(() => {
        const el = scroller.current;
        if (!el) return;
        if (anchor.current) {
            el.scrollTop = anchor.current.top + (el.scrollHeight - anchor.current.height);
            anchor.current = null;
        } else if (atBottom.current) {
            el.scrollTop = el.scrollHeight;
        }
    }, [items]);

    // A short history fills less than the screen: load more until it scrolls.
    useEffect(() => {
        const el = scroller.current;
        if (el && hasMore && !loadingOlder && !error && el.scrollHeight <= el.clientHeight + 8) void loadOlder();
    }, [items, hasMore, loadingOlder, loadOlder, error]);

    // Read: local mark, and a receipt if the server takes them.
    const lastFromOthers = useMemo(() => [...msgs].reverse().find((m) => m.sender !== me && !m.pending), [msgs, me]);
    const lastEventId = room.getLiveTimeline().getEvents().at(-1)?.getId();
    useEffect(() => {
        const last = msgs.at(-1);
        if (last) setLocalReadTs(room.roomId, last.ts);
        if (!lastFromOthers || document.hidden) return;
        const ev = room.findEventById(lastFromOthers.id);
        if (ev && !room.hasUserReadEvent(me, ev.getId() ?? "")) client.sendReadReceipt(ev).catch(() => {});
    }, [client, room, me, msgs, lastFromOthers, lastEventId]);

    const onScroll = () => {
        const el = scroller.current;
        if (!el) return;
        atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        if (el.scrollTop < 60 && hasMore) void loadOlder();
    };

    const typing = room
        .getMembers()
        .filter((m) => m.typing && m.userId !== me)
        .map((m) => m.name.split(" ")[0] || m.name);

    // "Lu par …" under the agent's last message.
    const myLast = [...msgs].reverse().find((m) => m.kind !== "event");
    let readBy = "";
    if (myLast && myLast.sender === me && !myLast.pending) {
        const ev = room.findEventById(myLast.id);
        if (ev) {
            readBy = readByText(
                room
                    .getUsersReadUpTo(ev)
                    .filter((u) => u !== me)
                    .map((u) => memberName(room, u).split(" ")[0])
            );
        }
    }

    const members = room.getJoinedMemberCount();
    return (
        <div className="bureau-chat__conversation">
            <header className="bureau-chat__room-header">
                <BackLink />
                <Avatar name={room.name} />
                <div className="bureau-chat__room-title">
                    <h2 className={fr.cx("fr-h6", "fr-mb-0")}>{room.name}</h2>
                    <p className={fr.cx("fr-text--xs", "fr-mb-0")}>
                        {members} participant{members > 1 ? "s" : ""}
                        {encrypted && (
                            <>
                                {" · "}
                                <span className={fr.cx("fr-icon-lock-line", "fr-icon--xs")} aria-hidden="true" /> Chiffré de bout en bout
                            </>
                        )}
                    </p>
                </div>
            </header>
            <div className="bureau-chat__timeline" ref={scroller} onScroll={onScroll} role="log" aria-live="polite" aria-label={`Messages de ${room.name}`}>
                {hasMore ? (
                    <div className="bureau-chat__older">
                        <Button size="small" priority="tertiary" disabled={loadingOlder} onClick={() => void loadOlder()}>
                            {loadingOlder ? "Chargement…" : "Charger les messages précédents"}
                        </Button>
                    </div>
                ) : (
                    <p className="bureau-chat__start">Début de la conversation</p>
                )}
                <ul className="bureau-chat__messages">
                    {items.map((it) =>
                        it.type === "day" ? (
                            <li key={it.key} className="bureau-chat__day" role="separator">
                                <span>{it.label}</span>
                            </li>
                        ) : (
                            <MessageRow key={it.key} client={client} msg={it.msg} groupStart={it.groupStart} mine={it.msg.sender === me} />
                        )
                    )}
                </ul>
                {readBy && <p className="bureau-chat__read-by">{readBy}</p>}
            </div>
            <p className="bureau-chat__typing" aria-live="polite">
                {typingText(typing)}
            </p>
            {error && <Alert small severity="error" description={error} closable onClose={() => setError("")} className={fr.cx("fr-mb-1w")} />}
            {encrypted && !e2ee ? (
                <Alert
                    small
                    severity="info"
                    description="Cette conversation est chiffrée de bout en bout : ce navigateur ne peut pas y écrire ni lire les messages."
                />
            ) : (
                <Composer client={client} room={room} encrypted={encrypted} onError={setError} onSent={() => (atBottom.current = true)} />
            )}
        </div>
    );
}

function MessageRow({ client, msg, groupStart, mine }: { client: MatrixClient; msg: Msg; groupStart: boolean; mine: boolean }) {
    if (msg.kind === "event") {
        return (
            <li className="bureau-chat__event">
                {msg.body} <time dateTime={new Date(msg.ts).toISOString()}>{formatTime(msg.ts)}</time>
            </li>
        );
    }
    const cls = ["bureau-chat__msg", mine ? "is-mine" : "", groupStart ? "is-start" : "", msg.pending ? "is-pending" : "", msg.failed ? "is-failed" : ""]
        .filter(Boolean)
        .join(" ");
    return (
        <li className={cls}>
            {groupStart && (
                <div className="bureau-chat__msg-head">
                    <span className="bureau-chat__sender">{mine ? "Vous" : msg.senderName}</span>
                    <time dateTime={new Date(msg.ts).toISOString()}>{formatTime(msg.ts)}</time>
                </div>
            )}
            <div className={`bureau-chat__bubble${msg.kind === "undecryptable" ? " is-undecryptable" : ""}${msg.kind === "notice" ? " is-notice" : ""}`}>
                {msg.kind === "undecryptable" && <span className={fr.cx("fr-icon-lock-line", "fr-icon--sm", "fr-mr-1v")} aria-hidden="true" />}
                {msg.attachment ? <AttachmentView client={client} att={msg.attachment} /> : msg.kind === "emote" ? `* ${msg.senderName} ${msg.body}` : msg.body}
            </div>
            {msg.failed && <p className="bureau-chat__failed">Non envoyé</p>}
            {msg.pending && !msg.failed && <span className={fr.cx("fr-sr-only")}>Envoi en cours</span>}
        </li>
    );
}

function Composer({
    client,
    room,
    encrypted,
    onError,
    onSent
}: {
    client: MatrixClient;
    room: Room;
    encrypted: boolean;
    onError: (m: string) => void;
    onSent: () => void;
}) {
    const [text, setText] = useState("");
    const typingSent = useRef(0);
    const input = useRef<HTMLTextAreaElement>(null);

    useEffect(() => {
        if (window.matchMedia("(min-width: 48em)").matches) input.current?.focus();
    }, [room.roomId]);

    const setTyping = (on: boolean) => {
        const now = Date.now();
        if (on && now - typingSent.current < 4000) return;
        typingSent.current = on ? now : 0;
        client.sendTyping(room.roomId, on, 6000).catch(() => {});
    };

    const send = () => {
        const body = text.trim();
        if (!body) return;
        setText("");
        setTyping(false);
        onSent();
        client.sendMessage(room.roomId, { msgtype: MsgType.Text, body }).catch((err: unknown) => onError(chatErrorMessage(err)));
    };

    const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
        if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
            e.preventDefault();
            send();
        }
    };

    return (
        <form
            className="bureau-chat__composer"
            onSubmit={(e) => {
                e.preventDefault();
                send();
            }}
        >
            <AttachButton client={client} roomId={room.roomId} encrypted={encrypted} onError={onError} onSent={onSent} />
            <label className={fr.cx("fr-sr-only")} htmlFor="bureau-chat-input">
                Votre message
            </label>
            <textarea
                id="bureau-chat-input"
                ref={input}
                className={fr.cx("fr-input")}
                rows={1}
                placeholder="Votre message…"
                value={text}
                maxLength={20000}
                onChange={(e) => {
                    setText(e.target.value);
                    if (e.target.value) setTyping(true);
                }}
                onBlur={() => typingSent.current && setTyping(false)}
                onKeyDown={onKeyDown}
            />
            <Button type="submit" iconId="fr-icon-send-plane-fill" title="Envoyer" disabled={!text.trim()}>
                <span className={fr.cx("fr-sr-only")}>Envoyer</span>
            </Button>
        </form>
    );
}
