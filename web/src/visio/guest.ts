// Guest links (docs/meet.md): pure helpers of the guest page.

export const MAX_GUEST_NAME = 64;

/** The name as the server accepts it (rooms.GuestName): no control or format characters, spaces trimmed and collapsed, 1–64 characters; null otherwise. */
export function normaliseGuestName(s: string): string | null {
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f-\u009f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/.test(s)) return null;
    const n = s.trim().split(/\s+/).join(" ");
    return n === "" || [...n].length > MAX_GUEST_NAME ? null : n;
}

/** The token in a guest link's fragment (#token): 43 base64url characters, else "". */
export function guestToken(hash: string): string {
    const t = hash.replace(/^#/, "");
    return /^[A-Za-z0-9_-]{43}$/.test(t) ? t : "";
}
