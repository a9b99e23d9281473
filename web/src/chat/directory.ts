// The gateway's agent directory (GET /api/directory), to find whom to write to.
import { matrixIdFromEmail } from "./ids";

export type Agent = { id: string; email: string; display_name: string; ministry?: { name: string } | null };

export async function searchAgents(q: string, signal?: AbortSignal): Promise<Agent[]> {
    const res = await fetch(`/api/directory?q=${encodeURIComponent(q)}&limit=10`, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal
    });
    if (!res.ok) throw new Error("L'annuaire est momentanément indisponible.");
    const body = (await res.json()) as { results?: Agent[] };
    return body.results ?? [];
}

/** Agents with their Matrix id, without oneself. */
export function withMatrixIds(agents: Agent[], serverName: string, me: string): (Agent & { mxid: string })[] {
    return agents.map((a) => ({ ...a, mxid: matrixIdFromEmail(a.email, serverName) })).filter((a) => a.mxid && a.mxid !== me);
}
