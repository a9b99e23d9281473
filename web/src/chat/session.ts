// Matrix credentials of the signed-in agent: SSO through the gateway session,
// m.login.token exchange, kept in localStorage per Bureau user id.

export type Credentials = { userId: string; accessToken: string; deviceId: string };

const KEY_PREFIX = "bureau.chat.session.";
const LOGIN = "/_matrix/client/v3/login";

export function storageKey(bureauUserId: string): string {
    return KEY_PREFIX + bureauUserId;
}

export function loadCredentials(bureauUserId: string, storage: Storage = localStorage): Credentials | null {
    try {
        const raw = storage.getItem(storageKey(bureauUserId));
        if (!raw) return null;
        const c = JSON.parse(raw) as Partial<Credentials>;
        if (typeof c.userId === "string" && typeof c.accessToken === "string" && typeof c.deviceId === "string") {
            return { userId: c.userId, accessToken: c.accessToken, deviceId: c.deviceId };
        }
    } catch {
        /* corrupt entry: ignored */
    }
    return null;
}

export function saveCredentials(bureauUserId: string, c: Credentials, storage: Storage = localStorage) {
    try {
        storage.setItem(storageKey(bureauUserId), JSON.stringify(c));
    } catch {
        /* private mode: the session lasts for the page */
    }
}

export function clearCredentials(bureauUserId: string, storage: Storage = localStorage) {
    try {
        storage.removeItem(storageKey(bureauUserId));
    } catch {
        /* ignored */
    }
}

/** Where to send the browser to get a login token, coming back to `returnPath`. */
export function ssoRedirectUrl(origin: string, returnPath: string): string {
    const back = origin + (returnPath.startsWith("/messagerie") ? returnPath : "/messagerie");
    return `${LOGIN}/sso/redirect/proconnect?redirectUrl=${encodeURIComponent(back)}`;
}

/** Removes ?loginToken= from the current URL and returns it. */
export function takeLoginToken(): string {
    const url = new URL(location.href);
    const token = url.searchParams.get("loginToken") ?? "";
    if (token) {
        url.searchParams.delete("loginToken");
        history.replaceState(history.state, "", url.pathname + url.search + url.hash);
    }
    return token;
}

export class MatrixHttpError extends Error {
    constructor(
        readonly status: number,
        readonly errcode: string,
        message: string
    ) {
        super(message);
        this.name = "MatrixHttpError";
    }
}

/** POST /login m.login.token → credentials. */
export async function exchangeLoginToken(token: string): Promise<Credentials> {
    const res = await fetch(LOGIN, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ type: "m.login.token", token, initial_device_display_name: "Bureau (navigateur)" })
    });
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) throw new MatrixHttpError(res.status, String(body.errcode ?? ""), String(body.error ?? `HTTP ${res.status}`));
    const c = { userId: body.user_id, accessToken: body.access_token, deviceId: body.device_id };
    if (typeof c.userId !== "string" || typeof c.accessToken !== "string" || typeof c.deviceId !== "string") {
        throw new MatrixHttpError(res.status, "", "Réponse de connexion inattendue");
    }
    return c as Credentials;
}

/** French message for an error of the homeserver or the network. */
export function chatErrorMessage(err: unknown): string {
    const e = err as { errcode?: string; httpStatus?: number; status?: number; name?: string; message?: string } | null;
    const code = e?.errcode ?? "";
    const status = e?.httpStatus ?? e?.status ?? 0;
    if (code === "M_FORBIDDEN") return "Action non autorisée dans cette conversation.";
    if (code === "M_TOO_LARGE") return "Le message est trop long.";
    if (code === "M_LIMIT_EXCEEDED") return "Trop de requêtes : réessayez dans quelques instants.";
    if (code === "M_UNKNOWN_TOKEN" || code === "M_MISSING_TOKEN") return "Votre session de messagerie a expiré.";
    if (e?.name === "ConnectionError" || e?.name === "TypeError") return "La messagerie est injoignable. Vérifiez votre connexion réseau.";
    if (status >= 500) return "La messagerie est momentanément indisponible.";
    if (e?.message) return `La messagerie a refusé l'opération (${e.message}).`;
    return "Une erreur inattendue est survenue.";
}
