// Matrix identifiers and Messagerie paths. Pure functions, unit-tested.

/** Server name of a Matrix user id: "@a:b.fr:8448" → "b.fr:8448". */
export function serverNameOf(userId: string): string {
    const i = userId.indexOf(":");
    return i < 0 ? "" : userId.slice(i + 1);
}

/** Localpart of a Matrix user id: "@alice.martin-x.gouv.fr:s" → "alice.martin-x.gouv.fr". */
export function localpartOf(userId: string): string {
    const i = userId.indexOf(":");
    return (i < 0 ? userId : userId.slice(0, i)).replace(/^@/, "");
}

/**
 * Matrix id of an agent, Tchap's rule: the email, lowercased, "@" → "-",
 * on the server of the signed-in user ("" if the email is not one).
 */
export function matrixIdFromEmail(email: string, serverName: string): string {
    const e = email.trim().toLowerCase();
    const at = e.lastIndexOf("@");
    if (at <= 0 || at === e.length - 1 || !serverName) return "";
    return `@${e.slice(0, at)}-${e.slice(at + 1)}:${serverName}`;
}

/**
 * A readable name when no display name is known: "@alice.martin-interieur.gouv.fr:s"
 * → "alice.martin". The ministry's domain is guessed as the part after the
 * last "-" that is followed by a dot-separated domain.
 */
export function fallbackName(userId: string): string {
    const local = localpartOf(userId);
    const m = /^(.+)-([a-z0-9-]+(?:\.[a-z0-9-]+)+)$/.exec(local);
    return (m ? m[1] : local) || userId;
}

/** Initials for an avatar: "Alice Martin" → "AM", "#projet" → "P". */
export function initials(name: string): string {
    const words = name
        .replace(/[^\p{L}\p{N}\s.-]/gu, " ")
        .split(/[\s.-]+/)
        .filter(Boolean);
    if (words.length === 0) return "?";
    const first = words[0][0] ?? "";
    const second = words.length > 1 ? (words[words.length - 1][0] ?? "") : "";
    return (first + second).toUpperCase();
}

export const CHAT_ROOT = "/messagerie";

/** Path of a conversation. */
export function roomPath(roomId: string): string {
    return `${CHAT_ROOT}/${encodeURIComponent(roomId)}`;
}

/** The conversation a path names: null for the list, undefined if not a Messagerie path. */
export function parseChatPath(pathname: string): string | null | undefined {
    const p = pathname.replace(/\/+$/, "");
    if (p === CHAT_ROOT) return null;
    if (!p.startsWith(CHAT_ROOT + "/")) return undefined;
    const rest = p.slice(CHAT_ROOT.length + 1);
    if (!rest || rest.includes("/")) return undefined;
    let id: string;
    try {
        id = decodeURIComponent(rest);
    } catch {
        return undefined;
    }
    return /^![^:]+:.+$/.test(id) ? id : undefined;
}
