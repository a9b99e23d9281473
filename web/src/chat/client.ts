// The Matrix client of the Messagerie (matrix-js-sdk), one per page load and
// agent, kept across navigations. Only this module and the chat components
// import matrix-js-sdk, and the page is lazy-loaded: the rest of Bureau does
// not pay for it.
import {
    ClientEvent,
    createClient,
    EventTimeline,
    EventType,
    HttpApiEvent,
    KnownMembership,
    MsgType,
    NotificationCountType,
    Preset,
    SyncState,
    type ICreateRoomOpts,
    type MatrixClient,
    type MatrixEvent,
    type Room
} from "matrix-js-sdk";
import { fallbackName } from "./ids";
import { countUnread, type Msg } from "./timeline";
import { attachmentOf } from "./media";
import { chatErrorMessage, clearCredentials, exchangeLoginToken, loadCredentials, saveCredentials, ssoRedirectUrl, takeLoginToken, type Credentials } from "./session";

export type CryptoState = "pending" | "ready" | "unavailable";

export type ChatState =
    | { status: "connecting" }
    | { status: "redirecting" }
    | { status: "error"; message: string }
    | { status: "ready"; client: MatrixClient };

export type Chat = {
    bureauUserId: string;
    state: ChatState;
    crypto: CryptoState;
    listeners: Set<() => void>;
};

let current: Chat | null = null;

function emit(chat: Chat) {
    for (const l of chat.listeners) l();
}

function set(chat: Chat, patch: Partial<Pick<Chat, "state" | "crypto">>) {
    Object.assign(chat, patch);
    emit(chat);
}

/** The chat of this agent, started on first call. */
export function getChat(bureauUserId: string): Chat {
    if (current && current.bureauUserId === bureauUserId) return current;
    if (current?.state.status === "ready") current.state.client.stopClient();
    const chat: Chat = { bureauUserId, state: { status: "connecting" }, crypto: "pending", listeners: new Set() };
    current = chat;
    void start(chat);
    return chat;
}

/** Retries after an error. */
export function restartChat(bureauUserId: string): Chat {
    if (current?.bureauUserId === bureauUserId && current.state.status === "error") current = null;
    return getChat(bureauUserId);
}

function redirectToSso(chat: Chat) {
    set(chat, { state: { status: "redirecting" } });
    location.assign(ssoRedirectUrl(location.origin, location.pathname));
}

async function start(chat: Chat) {
    try {
        let creds: Credentials | null = null;
        const token = takeLoginToken();
        const fresh = token !== "";
        if (fresh) {
            creds = await exchangeLoginToken(token);
            saveCredentials(chat.bureauUserId, creds);
        } else {
            creds = loadCredentials(chat.bureauUserId);
        }
        if (!creds) return redirectToSso(chat);

        const client = createClient({
            baseUrl: location.origin,
            accessToken: creds.accessToken,
            userId: creds.userId,
            deviceId: creds.deviceId,
            timelineSupport: true,
            disableVoip: true
        });
        try {
            await client.whoami();
        } catch (err) {
            const code = (err as { errcode?: string }).errcode;
            if ((code === "M_UNKNOWN_TOKEN" || code === "M_MISSING_TOKEN") && !fresh) {
                clearCredentials(chat.bureauUserId);
                return redirectToSso(chat);
            }
            throw err;
        }
        client.on(HttpApiEvent.SessionLoggedOut, () => {
            clearCredentials(chat.bureauUserId);
            client.stopClient();
            if (current === chat) redirectToSso(chat);
        });

        // End-to-end encryption: optional. Without it, encrypted rooms show
        // their messages as undecryptable and cannot be written to.
        const crypto = await initCrypto(client, creds);
        chat.crypto = crypto;

        await new Promise<void>((resolve, reject) => {
            const onSync = (state: SyncState, _prev: SyncState | null, data?: { error?: Error }) => {
                if (state === SyncState.Prepared || state === SyncState.Syncing) {
                    client.off(ClientEvent.Sync, onSync);
                    resolve();
                } else if (state === SyncState.Error && data?.error) {
                    client.off(ClientEvent.Sync, onSync);
                    reject(data.error);
                }
            };
            client.on(ClientEvent.Sync, onSync);
            void client.startClient({ initialSyncLimit: 30, lazyLoadMembers: false }).catch(reject);
        });
        set(chat, { state: { status: "ready", client } });
    } catch (err) {
        console.warn("messagerie: start failed", err);
        set(chat, { state: { status: "error", message: chatErrorMessage(err) } });
    }
}

async function initCrypto(client: MatrixClient, creds: Credentials): Promise<CryptoState> {
    try {
        await client.initRustCrypto({ cryptoDatabasePrefix: `bureau-chat-${creds.userId}-${creds.deviceId}` });
    } catch (err) {
        console.warn("messagerie: end-to-end encryption unavailable in this browser", err);
        return "unavailable";
    }
    // The homeserver must also offer the keys endpoints.
    try {
        const res = await fetch("/_matrix/client/v3/keys/query", {
            method: "POST",
            headers: { Authorization: `Bearer ${creds.accessToken}`, "Content-Type": "application/json" },
            body: JSON.stringify({ device_keys: { [creds.userId]: [] } })
        });
        if (!res.ok) throw new Error(`keys/query: HTTP ${res.status}`);
    } catch (err) {
        console.warn("messagerie: the homeserver does not support end-to-end encryption", err);
        return "unavailable";
    }
    return "ready";
}

// ---- Reading rooms ----------------------------------------------------

const READ_KEY = "bureau.chat.read.";

/** Local read mark (timestamp) of a room, for servers without receipts. */
export function localReadTs(roomId: string): number {
    try {
        return Number(localStorage.getItem(READ_KEY + roomId) ?? 0) || 0;
    } catch {
        return 0;
    }
}

export function setLocalReadTs(roomId: string, ts: number) {
    try {
        if (ts > localReadTs(roomId)) localStorage.setItem(READ_KEY + roomId, String(ts));
    } catch {
        /* ignored */
    }
}

export function memberName(room: Room | null, userId: string): string {
    const m = room?.getMember(userId);
    if (m?.name && m.name !== userId) return m.name;
    return fallbackName(userId);
}

function membershipText(ev: MatrixEvent, name: string, targetName: string): string {
    const c = ev.getContent();
    const prev = ev.getPrevContent();
    switch (c.membership) {
        case KnownMembership.Join:
            return prev.membership === KnownMembership.Join ? `${name} a changé de profil` : `${name} a rejoint la conversation`;
        case KnownMembership.Invite:
            return `${name} a invité ${targetName}`;
        case KnownMembership.Leave:
            if (ev.getSender() !== ev.getStateKey()) return `${name} a retiré ${targetName}`;
            return prev.membership === KnownMembership.Invite ? `${name} a refusé l'invitation` : `${name} a quitté la conversation`;
        case KnownMembership.Ban:
            return `${name} a banni ${targetName}`;
        default:
            return "";
    }
}

/** What the timeline shows for an event, or null for events not shown. */
export function toMsg(room: Room | null, ev: MatrixEvent): Msg | null {
    const sender = ev.getSender() ?? "";
    const senderName = memberName(room, sender);
    const base = {
        id: ev.getId() ?? ev.getTxnId() ?? `${sender}-${ev.getTs()}`,
        sender,
        senderName,
        ts: ev.getTs() || Date.now(),
        pending: ev.isSending(),
        failed: ev.status === "not_sent"
    };
    const type = ev.getType();
    if (ev.isRedacted()) return { ...base, kind: "event", body: `${senderName} a supprimé un message` };
    if (type === EventType.RoomMessageEncrypted || ev.isDecryptionFailure()) {
        return { ...base, kind: "undecryptable", body: "Message chiffré — impossible de le déchiffrer sur cet appareil" };
    }
    const c = ev.getContent();
    switch (type) {
        case EventType.RoomMessage: {
            const body = typeof c.body === "string" ? c.body : "";
            if (c.msgtype === MsgType.Notice) return { ...base, kind: "notice", body };
            if (c.msgtype === MsgType.Emote) return { ...base, kind: "emote", body };
            if (c.msgtype === MsgType.Text || !c.msgtype) return { ...base, kind: "text", body };
            const attachment = attachmentOf(c);
            if (attachment) return { ...base, kind: "text", body: attachment.name, attachment };
            return { ...base, kind: "text", body: body || "(message non pris en charge)" };
        }
        case EventType.RoomMember: {
            const target = ev.getStateKey() ?? "";
            const text = membershipText(ev, senderName, memberName(room, target));
            return text ? { ...base, kind: "event", body: text } : null;
        }
        case EventType.RoomCreate:
            return { ...base, kind: "event", body: `${senderName} a créé la conversation` };
        case EventType.RoomName:
            return { ...base, kind: "event", body: c.name ? `${senderName} a renommé la conversation en « ${c.name} »` : `${senderName} a retiré le nom` };
        case EventType.RoomTopic:
            return { ...base, kind: "event", body: `${senderName} a changé le sujet` };
        case EventType.RoomEncryption:
            return { ...base, kind: "event", body: "Les messages de cette conversation sont chiffrés de bout en bout" };
        default:
            return null;
    }
}

export function roomMessages(room: Room): Msg[] {
    const out: Msg[] = [];
    for (const ev of room.getLiveTimeline().getEvents()) {
        const m = toMsg(room, ev);
        if (m) out.push(m);
    }
    return out;
}

export function canPaginateBack(room: Room): boolean {
    return room.getLiveTimeline().getPaginationToken(EventTimeline.BACKWARDS) !== null;
}

/** Timestamp up to which the agent has read a room: receipt or local mark. */
export function readTs(client: MatrixClient, room: Room): number {
    const me = client.getUserId() ?? "";
    let ts = localReadTs(room.roomId);
    const id = room.getEventReadUpTo(me);
    if (id) {
        const ev = room.findEventById(id);
        if (ev) ts = Math.max(ts, ev.getTs());
    }
    return ts;
}

export type RoomSummary = {
    roomId: string;
    name: string;
    direct: boolean;
    invited: boolean;
    inviter: string;
    encrypted: boolean;
    unread: number;
    last?: Msg;
    lastTs: number;
};

export function directRoomIds(client: MatrixClient): Set<string> {
    const content = (client.getAccountData(EventType.Direct)?.getContent() ?? {}) as Record<string, string[]>;
    const ids = new Set<string>();
    for (const rooms of Object.values(content)) if (Array.isArray(rooms)) for (const r of rooms) ids.add(r);
    return ids;
}

function isDirect(client: MatrixClient, room: Room, direct: Set<string>): boolean {
    if (direct.has(room.roomId)) return true;
    const me = client.getUserId() ?? "";
    const mine = room.getMember(me);
    if (mine?.events.member?.getContent().is_direct) return true;
    // Created as a DM by us: our invite of the other carried is_direct.
    const create = room.currentState.getStateEvents(EventType.RoomCreate, "");
    if (room.currentState.getStateEvents(EventType.RoomName, "")) return false;
    return !!create && room.getInvitedAndJoinedMemberCount() <= 2 && room.currentState.getMembers().some((m) => m.events.member?.getContent().is_direct);
}

export function summarize(client: MatrixClient, room: Room, direct: Set<string>): RoomSummary {
    const me = client.getUserId() ?? "";
    const invited = room.getMyMembership() === KnownMembership.Invite;
    const msgs = invited ? [] : roomMessages(room);
    const visible = msgs.filter((m) => m.kind !== "event" || m.body.includes("créé"));
    const last = [...msgs].reverse().find((m) => m.kind !== "event") ?? visible[visible.length - 1];
    const server = room.getUnreadNotificationCount(NotificationCountType.Total);
    const computed = invited ? 0 : countUnread(msgs, me, readTs(client, room));
    const inviter = invited ? (room.getMember(me)?.events.member?.getSender() ?? "") : "";
    return {
        roomId: room.roomId,
        name: room.name || "Conversation",
        direct: isDirect(client, room, direct),
        invited,
        inviter: inviter ? memberName(room, inviter) : "",
        encrypted: room.hasEncryptionStateEvent(),
        unread: server > 0 ? Math.min(server, computed || server) : computed,
        last,
        lastTs: msgs.length ? msgs[msgs.length - 1].ts : Math.max(0, room.getLastActiveTimestamp())
    };
}

/** Rooms the agent is in or invited to: invitations first, then most recent. */
export function roomSummaries(client: MatrixClient): RoomSummary[] {
    const direct = directRoomIds(client);
    return client
        .getRooms()
        .filter((r) => {
            const m = r.getMyMembership();
            return m === KnownMembership.Join || m === KnownMembership.Invite;
        })
        .map((r) => summarize(client, r, direct))
        .sort((a, b) => Number(b.invited) - Number(a.invited) || b.lastTs - a.lastTs);
}

// ---- Creating rooms ---------------------------------------------------

const ENCRYPTION = { type: EventType.RoomEncryption, state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } };

/** An existing direct chat with this agent, joined or invited. */
export function findDirectRoom(client: MatrixClient, userId: string): Room | null {
    const content = (client.getAccountData(EventType.Direct)?.getContent() ?? {}) as Record<string, string[]>;
    const rooms = (content[userId] ?? []).map((id) => client.getRoom(id)).filter((r): r is Room => !!r);
    const direct = directRoomIds(client);
    for (const r of client.getRooms()) if (isDirect(client, r, direct) && r.getMember(userId)) rooms.push(r);
    return rooms.find((r) => r.getMyMembership() === KnownMembership.Join && r.getMember(userId)?.membership !== KnownMembership.Leave) ?? null;
}

async function markDirect(client: MatrixClient, userId: string, roomId: string) {
    try {
        const content = { ...((client.getAccountData(EventType.Direct)?.getContent() ?? {}) as Record<string, string[]>) };
        content[userId] = [...new Set([...(content[userId] ?? []), roomId])];
        await client.setAccountData(EventType.Direct, content);
    } catch {
        /* account data unsupported by the homeserver: is_direct is enough */
    }
}

export async function createDirect(client: MatrixClient, userId: string, encrypted: boolean): Promise<string> {
    const opts: ICreateRoomOpts = { preset: Preset.TrustedPrivateChat, is_direct: true, invite: [userId] };
    if (encrypted) opts.initial_state = [ENCRYPTION];
    const { room_id } = await client.createRoom(opts);
    await markDirect(client, userId, room_id);
    return room_id;
}

export async function createGroup(client: MatrixClient, name: string, invite: string[], encrypted: boolean): Promise<string> {
    const opts: ICreateRoomOpts = { preset: Preset.PrivateChat, name, invite };
    if (encrypted) opts.initial_state = [ENCRYPTION];
    const { room_id } = await client.createRoom(opts);
    return room_id;
}

/** After joining a DM invitation, record it in m.direct. */
export async function joinRoom(client: MatrixClient, room: Room) {
    const me = client.getUserId() ?? "";
    const member = room.getMember(me)?.events.member;
    await client.joinRoom(room.roomId);
    if (member?.getContent().is_direct) await markDirect(client, member.getSender() ?? "", room.roomId);
}
