// Meet signalling protocol (docs/meet-protocol.md): typed messages, a
// tolerant parser for what the server sends, and the reducer that turns
// them into the meeting's state. Pure: no DOM, no WebRTC (unit-tested).

/** Meetings: host, moderator, participant, guest (no account, came through a guest link); webinars add presenter, attendee (watches only) and speaker (a promoted attendee). */
export type Role = "host" | "moderator" | "participant" | "guest" | "presenter" | "attendee" | "speaker" | (string & {});
export type Kind = "audio" | "video";
export type Source = "microphone" | "camera" | "screen" | "screen_audio";

export type Participant = {
    id: string;
    user_id: string;
    name: string;
    role: Role;
    ministry?: string;
    external?: boolean;
    /** Came through a guest link, without an account (« invité »). */
    guest?: boolean;
    hand?: boolean;
    audio_muted?: boolean;
    video_muted?: boolean;
};

/** Who may chat in a webinar: everyone; stage (attendees write to the stage only); off (attendees cannot chat). */
export type WebinarChat = "everyone" | "stage" | "off";

export type RoomInfo = {
    id: string;
    title: string;
    kind?: "meeting" | "webinar" | (string & {});
    locked?: boolean;
    /** Webinars only. */
    webinar_chat?: WebinarChat;
};

/** remove_revoke_link: remove a guest and revoke the guest link they came through. */
export type ModerateAction = "mute" | "stop_video" | "remove" | "remove_revoke_link";

/** The reactions the server accepts (docs/meet-protocol.md). */
export const REACTIONS = ["👍", "👏", "❤️", "😂", "😮", "🎉", "✋"] as const;
export type Reaction = (typeof REACTIONS)[number];
/** How long a reaction stays on a tile. */
export const REACTION_MS = 4000;

export type TrackInfo = {
    id: string;
    stream_id: string;
    participant: string;
    kind: Kind;
    source: Source;
};

export type IceCandidate = { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null };

/** simulcast: the camera is sent in three encodings (rids q, h, f); the server's offer asks for them. */
export type TrackSpec = { kind: Kind; source: Source; simulcast?: boolean };

/** What the client sends. The server refuses unknown fields: send exactly these. */
export type ClientMessage =
    | { type: "join"; guest_key?: string }
    // Re-attaches a new socket to our participant after a drop (docs/meet-protocol.md, Resume).
    | { type: "resume"; token: string; seq: number; guest_key?: string }
    | { type: "reaction"; emoji: Reaction }
    | { type: "leave" }
    | { type: "publish"; tracks: TrackSpec[] }
    | { type: "unpublish"; track: string }
    | { type: "answer"; sdp: string }
    | { type: "candidate"; candidate: IceCandidate }
    | { type: "mute"; kind: Kind; muted: boolean }
    | { type: "hand"; raised: boolean }
    | { type: "chat"; text: string }
    | { type: "admit"; participant: string }
    | { type: "deny"; participant: string }
    // Moderation and webinars (protocol round 2).
    | { type: "promote"; participant: string }
    | { type: "demote"; participant: string }
    | { type: "moderate"; action: ModerateAction; participant: string }
    | { type: "lock"; locked: boolean }
    // Hosts and moderators of a webinar: who may chat.
    | { type: "webinar_chat"; webinar_chat: WebinarChat }
    | { type: "end" }
    | { type: "question"; text: string }
    // Simulcast: the size a track is rendered at picks its layer.
    | { type: "set_quality"; track: string; width: number; height: number }
    // Media connection lost: the server offers again with new ICE credentials.
    | { type: "restart_ice" };

/** What the server sends (only the messages this client understands). */
export type ServerMessage =
    | {
          type: "joined";
          self: Participant;
          room: RoomInfo;
          participants: Participant[];
          published: TrackInfo[];
          /** Resume token (secret). */
          token?: string;
          count?: number;
      }
    | { type: "lobby"; room: RoomInfo; token?: string; guest_key?: string }
    | { type: "resumed"; participant: string }
    | { type: "answered" }
    | { type: "count"; count: number }
    | { type: "reaction"; participant: string; emoji: string }
    | { type: "denied"; room?: RoomInfo }
    | { type: "lobby_request"; member: Participant }
    | { type: "lobby_left"; participant: string }
    | { type: "participant_joined"; member: Participant }
    | { type: "participant_left"; participant: string }
    | { type: "offer"; sdp: string }
    | { type: "candidate"; candidate: IceCandidate }
    | { type: "track_published"; track_info: TrackInfo }
    | { type: "track_unpublished"; track: string; participant?: string }
    | { type: "mute"; participant: string; kind: Kind; muted: boolean }
    | { type: "hand"; participant: string; raised: boolean }
    | { type: "chat"; participant: string; name: string; text: string; ts: number }
    | { type: "active_speaker"; participants: string[] }
    | { type: "role"; participant: string; role: Role; member?: Participant }
    | { type: "moderated"; action: "mute" | "stop_video"; by: string }
    | { type: "removed"; by: string }
    | { type: "lock"; locked: boolean; participant: string }
    | { type: "webinar_chat"; webinar_chat: WebinarChat; participant: string }
    | { type: "ended"; by: string }
    | { type: "question"; participant: string; name: string; text: string; ts: number }
    | { type: "error"; code: string; message: string };

export const MAX_CHAT = 4000;

/** Room ids are 80 random bits in base32, "xxxx-xxxx-xxxx-xxxx". */
const ROOM_ID = /^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/;

export function isRoomId(s: string): boolean {
    return ROOM_ID.test(s);
}

/** The room id in what someone pasted: a full link, a path "/visio/…" or the id itself. */
export function roomIdFromInput(input: string): string | null {
    let s = input.trim();
    if (s === "") return null;
    try {
        if (/^https?:\/\//i.test(s)) s = new URL(s).pathname;
    } catch {
        return null;
    }
    s = s.replace(/[?#].*$/, "").replace(/\/+$/, "");
    const last = s.split("/").pop() ?? "";
    const id = last.toLowerCase();
    return isRoomId(id) ? id : null;
}

// ---------------------------------------------------------------------------
// Parsing: the server is trusted but its protocol evolves; anything malformed
// or unknown gives null and is ignored (logged by the caller).

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): v is string => typeof v === "string";
const isKind = (v: unknown): v is Kind => v === "audio" || v === "video";
const isSource = (v: unknown): v is Source =>
    v === "microphone" || v === "camera" || v === "screen" || v === "screen_audio";

function participant(v: unknown): Participant | null {
    if (!isObj(v) || !str(v.id) || v.id === "") return null;
    return {
        id: v.id,
        user_id: str(v.user_id) ? v.user_id : "",
        name: str(v.name) && v.name !== "" ? v.name : "Participant",
        role: str(v.role) ? v.role : "participant",
        ministry: str(v.ministry) ? v.ministry : undefined,
        external: v.external === true,
        guest: v.guest === true,
        hand: v.hand === true,
        audio_muted: v.audio_muted === true,
        video_muted: v.video_muted === true
    };
}

const isWebinarChat = (v: unknown): v is WebinarChat => v === "everyone" || v === "stage" || v === "off";

function room(v: unknown): RoomInfo | null {
    if (!isObj(v) || !str(v.id)) return null;
    return {
        id: v.id,
        title: str(v.title) ? v.title : "",
        kind: str(v.kind) ? v.kind : "meeting",
        locked: v.locked === true,
        webinar_chat: isWebinarChat(v.webinar_chat) ? v.webinar_chat : undefined
    };
}

function track(v: unknown): TrackInfo | null {
    if (!isObj(v) || !str(v.id) || !str(v.participant) || !isKind(v.kind)) return null;
    const source = isSource(v.source) ? v.source : v.kind === "audio" ? "microphone" : "camera";
    return {
        id: v.id,
        stream_id: str(v.stream_id) ? v.stream_id : v.participant,
        participant: v.participant,
        kind: v.kind,
        source
    };
}

function list<T>(v: unknown, f: (x: unknown) => T | null): T[] {
    if (!Array.isArray(v)) return [];
    const out: T[] = [];
    for (const x of v) {
        const y = f(x);
        if (y) out.push(y);
    }
    return out;
}

function candidate(v: unknown): IceCandidate | null {
    if (!isObj(v) || !str(v.candidate)) return null;
    return {
        candidate: v.candidate,
        sdpMid: str(v.sdpMid) ? v.sdpMid : null,
        sdpMLineIndex: typeof v.sdpMLineIndex === "number" ? v.sdpMLineIndex : null
    };
}

/** Parses one text frame from the server; null if malformed or of an unknown type. */
export function parseServerMessage(data: string): ServerMessage | null {
    return parseFrame(data).msg;
}

/** A frame: its message and its seq (0 when unnumbered), for resuming. */
export function parseFrame(data: string): { seq: number; msg: ServerMessage | null } {
    let v: unknown;
    try {
        v = JSON.parse(data);
    } catch {
        return { seq: 0, msg: null };
    }
    if (!isObj(v)) return { seq: 0, msg: null };
    const seq = typeof v.seq === "number" && Number.isSafeInteger(v.seq) && v.seq > 0 ? v.seq : 0;
    return { seq, msg: message(v) };
}

const token = (v: unknown): string | undefined => (str(v) && /^[A-Za-z0-9_-]{43}$/.test(v) ? v : undefined);

function message(v: Obj): ServerMessage | null {
    if (!str(v.type)) return null;
    switch (v.type) {
        case "joined": {
            const self = participant(v.self);
            const r = room(v.room);
            if (!self || !r) return null;
            return {
                type: "joined",
                self,
                room: r,
                participants: list(v.participants, participant),
                published: list(v.published, track),
                token: token(v.token),
                count: typeof v.count === "number" ? v.count : undefined
            };
        }
        case "lobby": {
            const r = room(v.room);
            return r ? { type: "lobby", room: r, token: token(v.token), guest_key: token(v.guest_key) } : null;
        }
        case "resumed":
            return str(v.participant) ? { type: "resumed", participant: v.participant } : null;
        case "answered":
            return { type: "answered" };
        case "count":
            return typeof v.count === "number" ? { type: "count", count: v.count } : null;
        case "reaction":
            return str(v.participant) && str(v.emoji) && (REACTIONS as readonly string[]).includes(v.emoji)
                ? { type: "reaction", participant: v.participant, emoji: v.emoji }
                : null;
        case "denied":
            return { type: "denied", room: room(v.room) ?? undefined };
        case "lobby_request":
        case "participant_joined": {
            const m = participant(v.member);
            return m ? { type: v.type, member: m } : null;
        }
        case "lobby_left":
        case "participant_left":
            return str(v.participant) ? { type: v.type, participant: v.participant } : null;
        case "offer":
            return str(v.sdp) && v.sdp !== "" ? { type: "offer", sdp: v.sdp } : null;
        case "candidate": {
            const c = candidate(v.candidate);
            return c ? { type: "candidate", candidate: c } : null;
        }
        case "track_published": {
            const t = track(v.track_info);
            return t ? { type: "track_published", track_info: t } : null;
        }
        case "track_unpublished":
            return str(v.track)
                ? { type: "track_unpublished", track: v.track, participant: str(v.participant) ? v.participant : undefined }
                : null;
        case "mute":
            return str(v.participant) && isKind(v.kind)
                ? { type: "mute", participant: v.participant, kind: v.kind, muted: v.muted === true }
                : null;
        case "hand":
            return str(v.participant) ? { type: "hand", participant: v.participant, raised: v.raised === true } : null;
        case "chat":
            return str(v.participant) && str(v.text)
                ? {
                      type: "chat",
                      participant: v.participant,
                      name: str(v.name) ? v.name : "",
                      text: v.text,
                      ts: typeof v.ts === "number" ? v.ts : Date.now()
                  }
                : null;
        case "active_speaker":
        case "active_speakers": {
            // Not in the protocol yet: accept a list or a single participant id.
            const ids = Array.isArray(v.participants)
                ? v.participants.filter(str)
                : str(v.participant)
                  ? [v.participant]
                  : [];
            return { type: "active_speaker", participants: ids };
        }
        case "role":
            return str(v.participant) && str(v.role)
                ? { type: "role", participant: v.participant, role: v.role, member: participant(v.member) ?? undefined }
                : null;
        case "moderated":
            return v.action === "mute" || v.action === "stop_video"
                ? { type: "moderated", action: v.action, by: str(v.by) ? v.by : "" }
                : null;
        case "removed":
        case "ended":
            return { type: v.type, by: str(v.by) ? v.by : "" };
        case "lock":
            return { type: "lock", locked: v.locked === true, participant: str(v.participant) ? v.participant : "" };
        case "webinar_chat":
            return isWebinarChat(v.webinar_chat)
                ? { type: "webinar_chat", webinar_chat: v.webinar_chat, participant: str(v.participant) ? v.participant : "" }
                : null;
        case "question":
            return str(v.participant) && str(v.text)
                ? {
                      type: "question",
                      participant: v.participant,
                      name: str(v.name) ? v.name : "",
                      text: v.text,
                      ts: typeof v.ts === "number" ? v.ts : Date.now()
                  }
                : null;
        case "error":
            return {
                type: "error",
                code: str(v.code) ? v.code : "internal",
                message: str(v.message) ? v.message : ""
            };
    }
    return null;
}

// ---------------------------------------------------------------------------
// Meeting state.

export type Phase =
    | "idle" // not connected yet
    | "connecting"
    | "lobby"
    | "joined"
    | "reconnecting"
    | "denied"
    | "removed" // a moderator removed us
    | "ended" // a host ended the meeting for everyone
    | "left"
    | "failed"; // a fatal protocol error: the socket was closed by the server

export type ChatEntry = { id: number; participant: string; name: string; text: string; ts: number; mine: boolean; question?: boolean };

export type Notice = { id: number; severity: "error" | "warning" | "info"; title: string; text: string };

/** A reaction on show (removed by `reaction_expired` after REACTION_MS). */
export type ShownReaction = { id: number; participant: string; emoji: string };

export type MeetingState = {
    phase: Phase;
    room: RoomInfo | null;
    selfId: string | null;
    /** Everyone in the room, self included, in arrival order. */
    participants: Participant[];
    /** Tracks the server announced (self's included). */
    tracks: TrackInfo[];
    lobby: Participant[];
    chat: ChatEntry[];
    unread: number;
    speaking: string[];
    notices: Notice[];
    reactions: ShownReaction[];
    /** Webinars: everyone in the room (attendees see only the stage in `participants`). */
    count: number | null;
    nextId: number;
};

export const initialMeeting: MeetingState = {
    phase: "idle",
    room: null,
    selfId: null,
    participants: [],
    tracks: [],
    lobby: [],
    chat: [],
    unread: 0,
    speaking: [],
    notices: [],
    reactions: [],
    count: null,
    nextId: 1
};

export type MeetingAction =
    | { type: "message"; msg: ServerMessage; chatOpen?: boolean }
    | { type: "connecting" }
    | { type: "reconnecting" }
    | { type: "left" }
    | { type: "connection_failed"; message: string }
    | { type: "speaking"; participants: string[] }
    | { type: "local_mute"; kind: Kind; muted: boolean }
    | { type: "local_hand"; raised: boolean }
    | { type: "chat_read" }
    | { type: "notice"; severity: Notice["severity"]; title: string; text: string }
    | { type: "dismiss"; id: number }
    | { type: "reaction_expired"; id: number };

/** Errors after which the server closes the socket (docs/meet-protocol.md). */
export const FATAL_ERRORS = new Set(["bad_message", "unknown_type", "bad_sdp", "room_full", "internal", "too_large"]);

export function errorText(code: string): string {
    switch (code) {
        case "room_full":
            return "La réunion a atteint le nombre maximal de participants.";
        case "not_admitted":
            return "Vous n'avez pas encore été admis dans la réunion.";
        case "forbidden":
            return "Cette action ne vous est pas permise.";
        case "not_found":
            return "Cette personne n'est plus dans la salle d'attente.";
        case "unsupported":
            return "Cette fonction n'est pas encore disponible.";
        case "internal":
            return "La connexion audio et vidéo n'a pas pu être établie.";
        case "rate_limited":
            return "Vous envoyez trop de messages ou de réactions : patientez quelques secondes.";
        case "chat_disabled":
            return "Le chat est réservé aux intervenants.";
        default:
            return "Une erreur de communication avec le service de visioconférence est survenue.";
    }
}

function upsert(list: Participant[], p: Participant): Participant[] {
    const i = list.findIndex((x) => x.id === p.id);
    if (i < 0) return [...list, p];
    const out = list.slice();
    out[i] = p;
    return out;
}

function patch(list: Participant[], id: string, f: (p: Participant) => Participant): Participant[] {
    return list.map((p) => (p.id === id ? f(p) : p));
}

function addNotice(s: MeetingState, n: Omit<Notice, "id">): MeetingState {
    // Keep the latest few; the same message twice is shown once.
    const notices = s.notices.filter((x) => !(x.title === n.title && x.text === n.text)).slice(-3);
    return { ...s, notices: [...notices, { ...n, id: s.nextId }], nextId: s.nextId + 1 };
}

export function meetingReducer(s: MeetingState, a: MeetingAction): MeetingState {
    switch (a.type) {
        case "connecting":
            return { ...s, phase: "connecting" };
        case "reconnecting":
            return ["left", "denied", "failed", "removed", "ended"].includes(s.phase) ? s : { ...s, phase: "reconnecting" };
        case "left":
            return { ...s, phase: "left", speaking: [] };
        case "connection_failed":
            return addNotice({ ...s, phase: "failed" }, { severity: "error", title: "Connexion impossible", text: a.message });
        case "speaking":
            return sameList(s.speaking, a.participants) ? s : { ...s, speaking: a.participants };
        case "local_mute":
            if (!s.selfId) return s;
            return {
                ...s,
                participants: patch(s.participants, s.selfId, (p) =>
                    a.kind === "audio" ? { ...p, audio_muted: a.muted } : { ...p, video_muted: a.muted }
                )
            };
        case "local_hand":
            if (!s.selfId) return s;
            return { ...s, participants: patch(s.participants, s.selfId, (p) => ({ ...p, hand: a.raised })) };
        case "chat_read":
            return s.unread === 0 ? s : { ...s, unread: 0 };
        case "notice":
            return addNotice(s, { severity: a.severity, title: a.title, text: a.text });
        case "dismiss":
            return { ...s, notices: s.notices.filter((n) => n.id !== a.id) };
        case "reaction_expired":
            return { ...s, reactions: s.reactions.filter((r) => r.id !== a.id) };
        case "message":
            return onMessage(s, a.msg, a.chatOpen ?? false);
    }
}

function sameList(a: string[], b: string[]) {
    return a.length === b.length && a.every((x, i) => x === b[i]);
}

function onMessage(s: MeetingState, m: ServerMessage, chatOpen: boolean): MeetingState {
    switch (m.type) {
        case "joined":
            // A (re)join starts from the server's view; the chat history is kept.
            return {
                ...s,
                phase: "joined",
                room: m.room,
                selfId: m.self.id,
                participants: [m.self, ...m.participants.filter((p) => p.id !== m.self.id)],
                tracks: m.published,
                lobby: [],
                speaking: [],
                reactions: [],
                count: m.count ?? null,
                notices: s.notices.filter((n) => n.severity !== "warning")
            };
        case "lobby":
            return { ...s, phase: "lobby", room: m.room };
        case "resumed":
            // The same participant again: the state is intact, missed messages follow.
            return { ...s, phase: s.selfId ? "joined" : "lobby" };
        case "answered":
            return s; // media plumbing (client.ts), nothing to show
        case "count":
            return { ...s, count: m.count };
        case "reaction":
            return { ...s, reactions: [...s.reactions, { id: s.nextId, participant: m.participant, emoji: m.emoji }].slice(-50), nextId: s.nextId + 1 };
        case "denied":
            return { ...s, phase: "denied" };
        case "lobby_request":
            return { ...s, lobby: upsert(s.lobby, m.member) };
        case "lobby_left":
            return { ...s, lobby: s.lobby.filter((p) => p.id !== m.participant) };
        case "participant_joined":
            return { ...s, participants: upsert(s.participants, m.member) };
        case "participant_left":
            return {
                ...s,
                participants: s.participants.filter((p) => p.id !== m.participant),
                tracks: s.tracks.filter((t) => t.participant !== m.participant),
                speaking: s.speaking.filter((id) => id !== m.participant)
            };
        case "track_published":
            return {
                ...s,
                tracks: [...s.tracks.filter((t) => t.id !== m.track_info.id), m.track_info]
            };
        case "track_unpublished":
            return { ...s, tracks: s.tracks.filter((t) => t.id !== m.track) };
        case "mute":
            return {
                ...s,
                participants: patch(s.participants, m.participant, (p) =>
                    m.kind === "audio" ? { ...p, audio_muted: m.muted } : { ...p, video_muted: m.muted }
                )
            };
        case "hand":
            return { ...s, participants: patch(s.participants, m.participant, (p) => ({ ...p, hand: m.raised })) };
        case "role": {
            let participants = patch(s.participants, m.participant, (p) => ({
                ...p,
                role: m.role,
                hand: m.role === "speaker" ? false : p.hand
            }));
            // A webinar attendee sees the stage only: a new speaker joins it, a demoted one leaves it.
            const attendee = s.participants.find((p) => p.id === s.selfId)?.role === "attendee" && m.participant !== s.selfId;
            if (attendee && m.role === "attendee") participants = participants.filter((p) => p.id !== m.participant);
            else if (m.member && !participants.some((p) => p.id === m.participant)) participants = [...participants, { ...m.member, role: m.role }];
            if (m.participant !== s.selfId) return { ...s, participants };
            const text =
                m.role === "speaker"
                    ? "Vous avez la parole : vous pouvez activer votre micro et votre caméra."
                    : m.role === "attendee"
                      ? "Vous assistez de nouveau au webinaire sans prendre la parole."
                      : `Votre rôle est maintenant : ${roleLabel(m.role) || m.role}.`;
            return addNotice({ ...s, participants }, { severity: "info", title: "Votre rôle a changé", text });
        }
        case "moderated": {
            const kind = m.action === "mute" ? "audio" : "video";
            const by = s.participants.find((p) => p.id === m.by)?.name ?? "Un organisateur";
            const participants = s.selfId
                ? patch(s.participants, s.selfId, (p) => (kind === "audio" ? { ...p, audio_muted: true } : { ...p, video_muted: true }))
                : s.participants;
            return addNotice(
                { ...s, participants },
                {
                    severity: "info",
                    title: kind === "audio" ? "Micro coupé" : "Caméra coupée",
                    text: `${by} a coupé votre ${kind === "audio" ? "micro" : "caméra"}. Vous pouvez ${kind === "audio" ? "le" : "la"} réactiver.`
                }
            );
        }
        case "removed":
            return { ...s, phase: "removed", speaking: [] };
        case "ended":
            return { ...s, phase: "ended", speaking: [] };
        case "lock":
            return s.room ? { ...s, room: { ...s.room, locked: m.locked } } : s;
        case "webinar_chat": {
            if (!s.room) return s;
            const next = { ...s, room: { ...s.room, webinar_chat: m.webinar_chat } };
            // Attendees are told what changed for them; the stage sees the setting in the chat panel.
            if (selfRole(s) !== "attendee") return next;
            return addNotice(next, { severity: "info", title: "Discussion", text: WEBINAR_CHAT_NOTICES[m.webinar_chat] });
        }
        case "question":
        case "chat": {
            const mine = m.participant === s.selfId;
            const name = m.name || s.participants.find((p) => p.id === m.participant)?.name || "Participant";
            const entry: ChatEntry = { id: s.nextId, participant: m.participant, name, text: m.text, ts: m.ts, mine };
            if (m.type === "question") entry.question = true;
            return {
                ...s,
                chat: [...s.chat, entry].slice(-500),
                unread: mine || chatOpen ? s.unread : s.unread + 1,
                nextId: s.nextId + 1
            };
        }
        case "active_speaker":
            return sameList(s.speaking, m.participants) ? s : { ...s, speaking: m.participants };
        case "error": {
            // Handled by the client: it joins again on a new socket.
            if (m.code === "resume_failed") return s;
            // `forbidden` before joining: this agent was removed from the meeting (socket closed).
            if (m.code === "forbidden" && (s.phase === "connecting" || s.phase === "reconnecting")) {
                return addNotice({ ...s, phase: "failed" }, { severity: "error", title: "Accès refusé", text: "Vous avez été exclu de cette réunion." });
            }
            if (FATAL_ERRORS.has(m.code)) {
                return addNotice({ ...s, phase: "failed" }, { severity: "error", title: "Vous avez quitté la réunion", text: errorText(m.code) });
            }
            return addNotice(s, { severity: "warning", title: "Action impossible", text: errorText(m.code) });
        }
        case "offer":
        case "candidate":
            return s;
    }
}

/** Tiles to show: one per participant (camera), plus one per screen share. */
export type TileModel = {
    key: string;
    participant: Participant;
    source: "camera" | "screen";
    self: boolean;
};

export function tilesFor(s: MeetingState): TileModel[] {
    const tiles: TileModel[] = [];
    for (const p of s.participants) {
        const self = p.id === s.selfId;
        if (s.tracks.some((t) => t.participant === p.id && t.source === "screen")) {
            tiles.push({ key: `${p.id}:screen`, participant: p, source: "screen", self });
        }
    }
    for (const p of s.participants) {
        tiles.push({ key: `${p.id}:camera`, participant: p, source: "camera", self: p.id === s.selfId });
    }
    return tiles;
}

export function selfRole(s: MeetingState): Role | undefined {
    return s.participants.find((p) => p.id === s.selfId)?.role;
}

/** Labels of the webinar chat settings (the select hosts see). */
export const WEBINAR_CHAT_LABELS: Record<WebinarChat, string> = {
    everyone: "Tout le monde écrit à tout le monde",
    stage: "Les spectateurs écrivent aux intervenants seulement",
    off: "Seuls les intervenants écrivent"
};

/** What an attendee is told when the chat setting changes. */
export const WEBINAR_CHAT_NOTICES: Record<WebinarChat, string> = {
    everyone: "Tout le monde peut de nouveau écrire dans le chat.",
    stage: "Vos messages ne sont lus que par les intervenants.",
    off: "Le chat est réservé aux intervenants."
};

/** Whether self may write in the chat, and whom their messages reach. */
export function chatAccess(s: MeetingState): "all" | "stage" | "none" {
    if (s.room?.kind !== "webinar" || selfRole(s) !== "attendee") return "all";
    const w = s.room.webinar_chat ?? "everyone";
    return w === "off" ? "none" : w === "stage" ? "stage" : "all";
}

/** Hosts and moderators admit, moderate, lock and end. */
export function canModerate(s: MeetingState): boolean {
    const r = selfRole(s);
    return r === "host" || r === "moderator";
}

/** Webinar attendees watch only: the server refuses their `publish`. */
export function canPublish(role: Role | undefined): boolean {
    return role !== "attendee";
}

export function roleLabel(role: Role): string {
    switch (role) {
        case "host":
            return "Organisateur";
        case "moderator":
            return "Modérateur";
        case "presenter":
            return "Présentateur";
        case "speaker":
            return "Intervenant";
        case "attendee":
            return "Spectateur";
        case "guest":
            return "Invité";
        default:
            return "";
    }
}
