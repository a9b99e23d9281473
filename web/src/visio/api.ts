// REST calls of the meet service (docs/meet.md).

export type RoomDetails = {
    id: string;
    title: string;
    link: string;
    access: "ministry" | "invited" | string;
    host_name: string;
    ministry: string;
    invitees?: string[];
    role: "host" | "participant" | string;
    admission: "direct" | "lobby" | string;
    connected: number;
};

export class MeetApiError extends Error {
    constructor(
        message: string,
        readonly status: number
    ) {
        super(message);
    }
}

async function call(input: string, init?: RequestInit): Promise<RoomDetails> {
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
        const message =
            res.status === 401
                ? "Votre session a expiré : reconnectez-vous."
                : res.status === 403
                  ? "Vous n'avez pas le droit d'effectuer cette action."
                  : res.status === 404
                    ? "Cette réunion n'existe pas ou n'est plus disponible."
                    : `Le service de visioconférence a répondu par une erreur (HTTP ${res.status}).`;
        throw new MeetApiError(message, res.status);
    }
    return (await res.json()) as RoomDetails;
}

export function createRoom(title: string): Promise<RoomDetails> {
    const body = title.trim() ? { title: title.trim() } : {};
    return call("/api/meet/rooms", { method: "POST", body: JSON.stringify(body) });
}

export function getRoom(id: string): Promise<RoomDetails> {
    return call(`/api/meet/rooms/${encodeURIComponent(id)}`);
}

/** The link to share: the server's, else built from this origin. */
export function roomLink(id: string, room?: Pick<RoomDetails, "link"> | null): string {
    return room?.link || `${location.origin}/visio/${id}`;
}
