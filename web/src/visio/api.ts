// REST calls of the meet service (docs/meet.md).

export type RoomDetails = {
    id: string;
    title: string;
    link: string;
    access: "ministry" | "invited" | "agents" | string;
    kind?: "meeting" | "webinar" | string;
    host_name: string;
    ministry: string;
    invitees?: string[];
    /** RFC 3339; both or neither (an instant meeting). */
    starts_at?: string;
    ends_at?: string;
    locked?: boolean;
    created_at?: string;
    role: "host" | "moderator" | "participant" | string;
    admission: "direct" | "lobby" | string;
    connected: number;
};

export type GuestLink = {
    id: string;
    room_id: string;
    label?: string;
    created_at: string;
    expires_at?: string;
    revoked_at?: string;
    /** Only in the answer to its creation. */
    token?: string;
    url?: string;
};

/** What a guest link shows before joining (no account needed). */
export type GuestRoom = {
    id: string;
    title: string;
    kind: string;
    host_name: string;
    starts_at?: string;
    ends_at?: string;
    role: string;
    admission: string;
    link_expires_at?: string;
};

export class MeetApiError extends Error {
    constructor(
        message: string,
        readonly status: number
    ) {
        super(message);
    }
}

async function call<T = RoomDetails>(input: string, init?: RequestInit): Promise<T> {
    let res: Response;
    try {
        res = await fetch(input, {
            ...init,
            credentials: "same-origin",
            headers: { Accept: "application/json", ...(init?.body ? { "Content-Type": "application/json" } : {}) }
        });
    } catch {
        throw new MeetApiError("Le service de visioconférence est injoignable. Vérifiez votre connexion réseau.", 0);
    }
    if (!res.ok) {
        // The service's own message (French) for what it refuses knowingly.
        let served = "";
        if (res.status === 400 || res.status === 404 || res.status === 410) {
            try {
                const body = (await res.json()) as { message?: unknown };
                if (typeof body.message === "string") served = body.message;
            } catch {
                /* not JSON: the generic message below */
            }
        }
        const message = served ||
            (res.status === 401
                ? "Votre session a expiré : reconnectez-vous."
                : res.status === 403
                  ? "Vous n'avez pas le droit d'effectuer cette action."
                  : res.status === 404
                    ? "Cette réunion n'existe pas ou n'est plus disponible."
                    : `Le service de visioconférence a répondu par une erreur (HTTP ${res.status}).`);
        throw new MeetApiError(message, res.status);
    }
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
}

export type RoomSpec = { title?: string; starts_at?: string; ends_at?: string };

export function createRoom(spec: string | RoomSpec): Promise<RoomDetails> {
    const s: RoomSpec = typeof spec === "string" ? { title: spec } : spec;
    const body: RoomSpec = {};
    if (s.title?.trim()) body.title = s.title.trim();
    if (s.starts_at && s.ends_at) {
        body.starts_at = s.starts_at;
        body.ends_at = s.ends_at;
    }
    return call("/api/meet/rooms", { method: "POST", body: JSON.stringify(body) });
}

/** "My meetings": those I host or am invited to (upcoming: scheduled, not over, soonest first). */
export async function listRooms(upcoming: boolean): Promise<RoomDetails[]> {
    const r = await call<{ rooms: RoomDetails[] }>(`/api/meet/rooms?upcoming=${upcoming}`);
    return r.rooms;
}

export function cancelRoom(id: string): Promise<void> {
    return call<void>(`/api/meet/rooms/${encodeURIComponent(id)}`, { method: "DELETE" });
}

export function createGuestLink(roomId: string, expiresAt?: string): Promise<GuestLink> {
    return call<GuestLink>(`/api/meet/rooms/${encodeURIComponent(roomId)}/guest-links`, {
        method: "POST",
        body: JSON.stringify(expiresAt ? { expires_at: expiresAt } : {})
    });
}

export function getGuestRoom(token: string): Promise<GuestRoom> {
    return call<GuestRoom>(`/api/meet/guest/${encodeURIComponent(token)}`);
}

export function getRoom(id: string): Promise<RoomDetails> {
    return call(`/api/meet/rooms/${encodeURIComponent(id)}`);
}

/** The link to share: the server's, else built from this origin. */
export function roomLink(id: string, room?: Pick<RoomDetails, "link"> | null): string {
    return room?.link || `${location.origin}/visio/${id}`;
}
