// Session of the signed-in agent, as told by the gateway's GET /api/me.

export type Ministry = { id: string; name: string };

export type Me = {
    id: string;
    email: string;
    given_name: string;
    usual_name: string;
    display_name: string;
    ministry: Ministry | null;
    siret: string;
    external: boolean;
};

export type MeState =
    | { status: "loading" }
    | { status: "signed-out" }
    | { status: "signed-in"; me: Me }
    | { status: "error"; message: string };

export async function fetchMe(signal?: AbortSignal): Promise<MeState> {
    let res: Response;
    try {
        res = await fetch("/api/me", {
            headers: { Accept: "application/json" },
            credentials: "same-origin",
            cache: "no-store",
            signal
        });
    } catch (err) {
        if (signal?.aborted) throw err;
        return { status: "error", message: "Le service est injoignable. Vérifiez votre connexion réseau." };
    }
    if (res.status === 401) return { status: "signed-out" };
    if (!res.ok) {
        return { status: "error", message: `Le service a répondu par une erreur (HTTP ${res.status}).` };
    }
    try {
        const me = (await res.json()) as Me;
        return { status: "signed-in", me };
    } catch {
        return { status: "error", message: "Réponse inattendue du service." };
    }
}

/** URL that starts a ProConnect login and comes back to `path` (a local path). */
export function loginUrl(path: string): string {
    const local = path.startsWith("/") && !path.startsWith("//") ? path : "/";
    return `/auth/login?redirect=${encodeURIComponent(local)}`;
}

/** Text shown under the agent's name: ministry, or external partner. */
export function affiliation(me: Me): string {
    if (me.external) return "Partenaire externe";
    return me.ministry?.name ?? "";
}

export function firstName(me: Me): string {
    return me.given_name || me.display_name.split(" ")[0] || me.display_name;
}
