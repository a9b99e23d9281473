// Typed client for the files service (/api/files/…) and the path helpers of
// the Fichiers view. Every request is same-origin with the session cookie;
// errors come back as FilesError with the service's French message.

export type Role = "owner" | "manager" | "editor" | "reader";
export type ScanState = "pending" | "clean" | "infected" | "unscannable" | "skipped";

export type Space = {
    id: string;
    kind: "personal" | "team";
    name: string;
    role?: Role;
    created_at?: string;
    /** Bytes used (every version, trash included, plus uploads in progress). */
    used?: number;
    /** Bytes allowed, 0 = unlimited. */
    quota?: number;
};

export type FileNode = {
    id: string;
    space_id: string;
    parent_id: string;
    kind: "folder" | "file";
    name: string;
    size: number;
    created_by?: string;
    created_at?: string;
    modified_at: string;
    trashed_at?: string;
    content_type?: string;
    scan?: ScanState;
};

export type NodePage = { items: FileNode[]; total: number; offset: number; limit: number };
export type SortKey = "name" | "size" | "modified";
export type SortOrder = "asc" | "desc";
export type Member = {
    user_id: string;
    role: Role;
    added_by?: string;
    added_at?: string;
    /** Not served yet (members come by id): shown when present. */
    display_name?: string;
    email?: string;
    /** "pending": an invitation by email to an agent the service has not seen yet (user_id empty); "expired": one past expires_at. */
    status?: "member" | "pending" | "expired";
    /** When an invitation lapses. */
    expires_at?: string;
};

/** An invitation by email (pending or expired), not a member. */
export function isInvitation(m: Pick<Member, "status">): boolean {
    return m.status === "pending" || m.status === "expired";
}
/** A search hit: a node plus its space's name and the folder it is in ("/", "/Budget/2025"). */
export type SearchHit = FileNode & { space_name: string; path: string };
/** A page of search hits; next is the cursor of the following page (absent at the end). */
export type SearchPage = { items: SearchHit[]; next?: string };
/** An entry of a space's journal (audit log). */
export type AuditEntry = { id: string; at: string; actor: string; actor_email?: string; action: string; node_id?: string; detail?: string };
export type AuditPage = { entries: AuditEntry[]; next?: string };
/** The agent's own quota, across spaces (bytes; quota 0 = unlimited; reserved = uploads in progress). */
export type AgentQuota = { quota: number; used: number; reserved: number };
export type Version = {
    id: string;
    node_id: string;
    size: number;
    content_type: string;
    uploaded_by: string;
    created_at: string;
    scan: ScanState;
};
export type AppPassword = { id: string; label: string; created_at: string; last_used_at?: string | null };
export type LinkKind = "read" | "upload";
export type ShareLink = {
    id: string;
    space_id: string;
    node_id: string;
    kind: LinkKind;
    has_password: boolean;
    expires_at?: string;
    created_by: string;
    created_at: string;
    revoked_at?: string;
};
/** What a share link shows of an item: no space nor agent ids. */
export type PublicNode = { id: string; kind: "folder" | "file"; name: string; size: number; modified_at: string; content_type?: string; scan?: ScanState };
export type LinkInfo = { kind: LinkKind; expires_at?: string | null; node: PublicNode };
export type DirectoryEntry = { id: string; email: string; display_name: string; ministry?: { name: string } | null };

export class FilesError extends Error {
    constructor(
        readonly status: number,
        readonly code: string,
        message: string
    ) {
        super(message);
        this.name = "FilesError";
    }
}

/** Error of a non-2xx answer: the service's {"error","message"} when it sent one. */
export function errorFromBody(status: number, body: unknown): FilesError {
    const b = body as { error?: unknown; message?: unknown } | null;
    if (b && typeof b.message === "string" && b.message !== "") {
        return new FilesError(status, typeof b.error === "string" ? b.error : "http_" + status, b.message);
    }
    if (status === 401) return new FilesError(401, "unauthenticated", "Votre session a expiré : reconnectez-vous.");
    if (status === 413) return new FilesError(413, "too_large", "Le fichier dépasse la taille maximale autorisée.");
    return new FilesError(status, "http_" + status, `Le service Fichiers a répondu par une erreur (HTTP ${status}).`);
}

export function errorMessage(err: unknown): string {
    if (err instanceof FilesError) return err.message;
    return "Le service Fichiers est injoignable. Vérifiez votre connexion réseau.";
}

const enc = encodeURIComponent;

export const apiPaths = {
    spaces: () => "/api/files/spaces",
    space: (space: string) => `/api/files/spaces/${enc(space)}`,
    members: (space: string) => `/api/files/spaces/${enc(space)}/members`,
    member: (space: string, user: string) => `/api/files/spaces/${enc(space)}/members/${enc(user)}`,
    invitation: (space: string, email: string) => `/api/files/spaces/${enc(space)}/invitations/${enc(email)}`,
    myQuota: "/api/files/me/quota",
    search: (q: string, limit = 50, cursor = "") => `/api/files/search?q=${enc(q)}&limit=${limit}${cursor ? `&cursor=${enc(cursor)}` : ""}`,
    audit: (space: string, actions: string[] = [], cursor = "", limit = 50) => {
        const p = new URLSearchParams({ limit: String(limit) });
        if (actions.length) p.set("action", actions.join(","));
        if (cursor) p.set("cursor", cursor);
        return `/api/files/spaces/${enc(space)}/audit?${p}`;
    },
    /** Several items of a space as one zip. */
    zipSelection: (space: string, nodes: string[]) => `/api/files/spaces/${enc(space)}/zip?nodes=${nodes.map(enc).join(",")}`,
    nodes: (space: string, q: { parent?: string; sort?: SortKey; order?: SortOrder; limit?: number; offset?: number }) => {
        const p = new URLSearchParams();
        p.set("parent", q.parent ?? "");
        if (q.sort) p.set("sort", q.sort);
        if (q.order) p.set("order", q.order);
        if (q.limit !== undefined) p.set("limit", String(q.limit));
        if (q.offset) p.set("offset", String(q.offset));
        return `/api/files/spaces/${enc(space)}/nodes?${p}`;
    },
    node: (space: string, node: string) => `/api/files/spaces/${enc(space)}/nodes/${enc(node)}`,
    folders: (space: string) => `/api/files/spaces/${enc(space)}/folders`,
    content: (space: string, node: string) => `/api/files/spaces/${enc(space)}/nodes/${enc(node)}/content`,
    copy: (space: string, node: string) => `/api/files/spaces/${enc(space)}/nodes/${enc(node)}/copy`,
    zip: (space: string, node: string) => `/api/files/spaces/${enc(space)}/nodes/${enc(node)}/zip`,
    trash: (space: string) => `/api/files/spaces/${enc(space)}/trash`,
    restore: (space: string, node: string) => `/api/files/spaces/${enc(space)}/trash/${enc(node)}/restore`,
    versions: (space: string, node: string) => `/api/files/spaces/${enc(space)}/nodes/${enc(node)}/versions`,
    versionContent: (space: string, node: string, version: string) =>
        `/api/files/spaces/${enc(space)}/nodes/${enc(node)}/versions/${enc(version)}/content`,
    versionRestore: (space: string, node: string, version: string) =>
        `/api/files/spaces/${enc(space)}/nodes/${enc(node)}/versions/${enc(version)}/restore`,
    links: (space: string) => `/api/files/spaces/${enc(space)}/links`,
    link: (space: string, link: string) => `/api/files/spaces/${enc(space)}/links/${enc(link)}`,
    uploads: "/api/files/uploads",
    // Public routes of a share link: the token is the capability.
    linkInfo: (token: string) => `/api/files/links/${enc(token)}`,
    linkNodes: (token: string, parent = "") => `/api/files/links/${enc(token)}/nodes?parent=${enc(parent)}&limit=1000`,
    linkContent: (token: string, node = "") => `/api/files/links/${enc(token)}/content${node ? `?node=${enc(node)}` : ""}`,
    linkZip: (token: string, node = "") => `/api/files/links/${enc(token)}/zip${node ? `?node=${enc(node)}` : ""}`,
    linkDeposit: (token: string, name: string) => `/api/files/links/${enc(token)}/content?name=${enc(name)}`
};

/**
 * Headers carrying a share link's password: HTTP Basic with an empty user
 * (the service also reads a Link-Password header).
 */
export function linkAuth(password: string): Record<string, string> {
    if (!password) return {};
    const bytes = new TextEncoder().encode(":" + password);
    return { Authorization: "Basic " + btoa(String.fromCharCode(...bytes)) };
}

async function call<T>(method: string, url: string, body?: unknown, signal?: AbortSignal, extra?: Record<string, string>): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json", ...extra };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(url, {
        method,
        credentials: "same-origin",
        cache: "no-store",
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal
    });
    const text = await res.text();
    let json: unknown = null;
    if (text) {
        try {
            json = JSON.parse(text);
        } catch {
            json = null;
        }
    }
    if (!res.ok) throw errorFromBody(res.status, json);
    return json as T;
}

export const filesApi = {
    spaces: (signal?: AbortSignal) => call<{ spaces: Space[] }>("GET", apiPaths.spaces(), undefined, signal).then((r) => r.spaces ?? []),
    space: (space: string, signal?: AbortSignal) => call<Space>("GET", apiPaths.space(space), undefined, signal),
    createSpace: (name: string) => call<Space>("POST", apiPaths.spaces(), { name }),
    members: (space: string, signal?: AbortSignal) =>
        call<{ members: Member[] }>("GET", apiPaths.members(space), undefined, signal).then((r) => r.members ?? []),
    addMember: (space: string, userId: string, role: Role) => call<Member>("POST", apiPaths.members(space), { user_id: userId, role }),
    /** Adds the agent at once if the service knows this email, else records a pending invitation. */
    invite: (space: string, email: string, role: Role) => call<Member>("POST", apiPaths.members(space), { email, role }),
    setRole: (space: string, userId: string, role: Role) => call<Member>("PATCH", apiPaths.member(space, userId), { role }),
    /** Removes a member; one's own id means leaving the space. */
    removeMember: (space: string, userId: string) => call<null>("DELETE", apiPaths.member(space, userId)),
    cancelInvitation: (space: string, email: string) => call<null>("DELETE", apiPaths.invitation(space, email)),
    /** A team space's own quota in bytes (owners; 0 = back to the default). */
    setQuota: (space: string, quota: number) => call<Space>("PUT", `${apiPaths.space(space)}/quota`, { quota }),
    myQuota: (signal?: AbortSignal) => call<AgentQuota>("GET", apiPaths.myQuota, undefined, signal),
    search: (q: string, signal?: AbortSignal, limit = 50, cursor = "") =>
        call<SearchPage>("GET", apiPaths.search(q, limit, cursor), undefined, signal).then((r) => ({ items: r.items ?? [], next: r.next })),
    audit: (space: string, actions: string[], cursor: string, signal?: AbortSignal) =>
        call<AuditPage>("GET", apiPaths.audit(space, actions, cursor), undefined, signal).then((r) => ({ entries: r.entries ?? [], next: r.next })),
    /** Copies into space/parent ("" = root), in the same space when space is absent. */
    copy: (space: string, node: string, to: { space?: string; parent?: string; name?: string }) =>
        call<FileNode>("POST", apiPaths.copy(space, node), to),
    list: (space: string, q: Parameters<typeof apiPaths.nodes>[1], signal?: AbortSignal) =>
        call<NodePage>("GET", apiPaths.nodes(space, q), undefined, signal),
    node: (space: string, node: string, signal?: AbortSignal) => call<FileNode>("GET", apiPaths.node(space, node), undefined, signal),
    createFolder: (space: string, parent: string, name: string) => call<FileNode>("POST", apiPaths.folders(space), { parent, name }),
    /** Renames and/or moves; with space set to another space, moves across spaces. */
    place: (space: string, node: string, change: { name?: string; parent?: string; space?: string }) =>
        call<FileNode>("PATCH", apiPaths.node(space, node), change),
    remove: (space: string, node: string) => call<null>("DELETE", apiPaths.node(space, node)),
    trash: (space: string, signal?: AbortSignal) =>
        call<{ items: FileNode[] }>("GET", apiPaths.trash(space), undefined, signal).then((r) => r.items ?? []),
    restore: (space: string, node: string) => call<FileNode>("POST", apiPaths.restore(space, node)),
    directory: (q: string, signal?: AbortSignal) =>
        call<{ results: DirectoryEntry[] }>("GET", `/api/directory?q=${enc(q)}&limit=10`, undefined, signal).then((r) => r.results ?? []),
    versions: (space: string, node: string, signal?: AbortSignal) =>
        call<{ versions: Version[] }>("GET", apiPaths.versions(space, node), undefined, signal).then((r) => r.versions ?? []),
    restoreVersion: (space: string, node: string, version: string) => call<FileNode>("POST", apiPaths.versionRestore(space, node, version)),
    links: (space: string, signal?: AbortSignal) =>
        call<{ links: ShareLink[] }>("GET", apiPaths.links(space), undefined, signal).then((r) => r.links ?? []),
    createLink: (space: string, l: { node: string; kind: LinkKind; password?: string; expires_at?: string }) =>
        call<{ link: ShareLink; token: string; path: string }>("POST", apiPaths.links(space), l),
    revokeLink: (space: string, link: string) => call<null>("DELETE", apiPaths.link(space, link)),
    // App passwords (gateway): WebDAV clients sign in with the email and one of them.
    appPasswords: (signal?: AbortSignal) =>
        call<{ app_passwords: AppPassword[] }>("GET", "/api/app-passwords", undefined, signal).then((r) => r.app_passwords ?? []),
    createAppPassword: (label: string) => call<AppPassword & { password: string }>("POST", "/api/app-passwords", { label }),
    revokeAppPassword: (id: string) => call<null>("DELETE", `/api/app-passwords/${enc(id)}`),
    linkInfo: (token: string, password: string, signal?: AbortSignal) =>
        call<LinkInfo>("GET", apiPaths.linkInfo(token), undefined, signal, linkAuth(password)),
    linkList: (token: string, parent: string, password: string, signal?: AbortSignal) =>
        call<{ items: PublicNode[]; total: number }>("GET", apiPaths.linkNodes(token, parent), undefined, signal, linkAuth(password))
};

/** The page a share link opens, in this web app (no sign-in needed). */
export const LINK_PREFIX = "/fichiers/lien/";
export function shareUrl(origin: string, token: string): string {
    return origin + LINK_PREFIX + token;
}
/** The token of a share page's path, or null. */
export function linkToken(pathname: string): string | null {
    if (!pathname.startsWith(LINK_PREFIX)) return null;
    const t = pathname.slice(LINK_PREFIX.length).replace(/\/+$/, "");
    return /^[A-Za-z0-9_-]{43}$/.test(t) ? t : null;
}

/** A date input's value (YYYY-MM-DD) as the end of that day, local time, in ISO. */
export function endOfDay(date: string): string | undefined {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
    if (!m) return undefined;
    return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 23, 59, 59).toISOString();
}

// ---- Locations in the URL ----------------------------------------------

/** Where the view is: the spaces list, a folder ("" = root) or a space's trash. */
export type Location =
    | { view: "spaces" }
    | { view: "folder"; space: string; folder: string }
    | { view: "trash"; space: string }
    | { view: "journal"; space: string };

export const TRASH_SEGMENT = "corbeille";
export const JOURNAL_SEGMENT = "journal";
const ID = /^[a-z2-7]{26}$/;

/** /fichiers → spaces; /fichiers/{space}[/{folder}] → folder; /fichiers/{space}/corbeille → trash; …/journal → journal; else null. */
export function parseLocation(pathname: string): Location | null {
    const rest = pathname.replace(/\/+$/, "");
    if (rest === "/fichiers") return { view: "spaces" };
    if (!rest.startsWith("/fichiers/")) return null;
    const parts = rest.slice("/fichiers/".length).split("/");
    const [space, second, ...more] = parts;
    if (!space || !ID.test(space) || more.length > 0) return null;
    if (second === undefined) return { view: "folder", space, folder: "" };
    if (second === TRASH_SEGMENT) return { view: "trash", space };
    if (second === JOURNAL_SEGMENT) return { view: "journal", space };
    if (!ID.test(second)) return null;
    return { view: "folder", space, folder: second };
}

export function locationPath(loc: Location): string {
    switch (loc.view) {
        case "spaces":
            return "/fichiers";
        case "trash":
            return `/fichiers/${loc.space}/${TRASH_SEGMENT}`;
        case "journal":
            return `/fichiers/${loc.space}/${JOURNAL_SEGMENT}`;
        case "folder":
            return loc.folder ? `/fichiers/${loc.space}/${loc.folder}` : `/fichiers/${loc.space}`;
    }
}

// ---- Display helpers -------------------------------------------------------

const UNITS = ["octets", "Ko", "Mo", "Go", "To"];

/** 1536 → "1,5 Ko" (French decimal comma, 1024-based). */
export function formatSize(bytes: number): string {
    if (!Number.isFinite(bytes) || bytes < 0) return "—";
    if (bytes < 1024) return bytes <= 1 ? `${bytes} octet` : `${bytes} octets`;
    let v = bytes;
    let u = 0;
    while (v >= 1024 && u < UNITS.length - 1) {
        v /= 1024;
        u++;
    }
    const s = v >= 100 ? Math.round(v).toString() : (Math.round(v * 10) / 10).toString();
    return `${s.replace(".", ",")} ${UNITS[u]}`;
}

export function formatDate(iso: string | undefined): string {
    if (!iso) return "—";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return "—";
    return d.toLocaleString("fr-FR", { dateStyle: "short", timeStyle: "short" });
}

/** Only clean (or, in development, unscanned "skipped") versions are served. */
export function isDownloadable(n: Pick<FileNode, "kind" | "scan">): boolean {
    return n.kind === "file" && (n.scan === "clean" || n.scan === "skipped" || n.scan === undefined);
}

export function scanLabel(scan: ScanState | undefined): { label: string; severity: "info" | "error" | "warning" | "success" } | null {
    switch (scan) {
        case "pending":
            return { label: "En cours d'analyse", severity: "info" };
        case "infected":
            return { label: "Infecté — en quarantaine", severity: "error" };
        case "unscannable":
            return { label: "Non analysé", severity: "warning" };
        default:
            return null;
    }
}

export function canEdit(role: Role | undefined): boolean {
    return role === "owner" || role === "manager" || role === "editor";
}

export function canManage(role: Role | undefined): boolean {
    return role === "owner" || role === "manager";
}

/** Quota usage in percent (0–100), or null when the space has no limit. */
export function quotaPercent(space: Pick<Space, "used" | "quota">): number | null {
    if (typeof space.used !== "number" || typeof space.quota !== "number" || space.quota <= 0) return null;
    return Math.min(100, Math.max(0, Math.round((space.used / space.quota) * 100)));
}

/** Spaces, personal first, otherwise in the service's order (it already does it; a safety net). */
export function sortSpaces(spaces: Space[]): Space[] {
    return [...spaces].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === "personal" ? -1 : 1));
}

/** Client-side check mirroring the service's name rules, for early feedback. */
export function nameProblem(name: string): string | null {
    if (name === "") return "Indiquez un nom.";
    if (name !== name.trim()) return "Le nom ne peut pas commencer ni finir par un espace.";
    if (name === "." || name === "..") return "Ce nom n'est pas autorisé.";
    if (/[/\\]/.test(name)) return "Le nom ne peut pas contenir « / » ni « \\ ».";
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return "Le nom contient des caractères de contrôle.";
    if (new TextEncoder().encode(name).length > 255) return "Le nom est trop long (255 octets au plus).";
    return null;
}

// ---- Members -----------------------------------------------------------------

export const ROLES: Role[] = ["reader", "editor", "manager", "owner"];
export const RANK: Record<Role, number> = { reader: 0, editor: 1, manager: 2, owner: 3 };

/** Roles one may give: up to one's own (the service answers 403 role_too_high above it). */
export function assignableRoles(mine: Role | undefined): Role[] {
    if (!canManage(mine)) return [];
    return ROLES.filter((r) => RANK[r] <= RANK[mine!]);
}

/** Whether one may change or remove this member: manager+, and only owners touch owners. */
export function canManageMember(mine: Role | undefined, m: Pick<Member, "role">): boolean {
    return canManage(mine) && (mine === "owner" || m.role !== "owner");
}

/** A plain address (what the service accepts for an invitation), loosely. */
export function looksLikeEmail(s: string): boolean {
    return /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/.test(s);
}

/** Where a search hit opens: a folder itself, a file's containing folder. */
export function hitLocation(h: Pick<SearchHit, "kind" | "id" | "space_id" | "parent_id">): Location {
    return { view: "folder", space: h.space_id, folder: h.kind === "folder" ? h.id : h.parent_id };
}

/** The name of a duplicate in the same folder: « Rapport (copie).pdf », « Dossier (copie) ». */
export function copyName(name: string, kind: FileNode["kind"]): string {
    const dot = kind === "file" ? name.lastIndexOf(".") : -1;
    if (dot <= 0) return `${name} (copie)`;
    return `${name.slice(0, dot)} (copie)${name.slice(dot)}`;
}

// ---- Journal (audit log) ------------------------------------------------------

/** The journal's filters: a French label and the actions it shows. */
export const AUDIT_FILTERS: { label: string; actions: string[] }[] = [
    { label: "Toutes les actions", actions: [] },
    { label: "Dépôts et dossiers créés", actions: ["upload", "folder_created", "copy"] },
    { label: "Téléchargements", actions: ["download", "download_zip", "link_download", "link_zip"] },
    { label: "Déplacements et renommages", actions: ["move", "move_in", "move_out"] },
    { label: "Suppressions et restaurations", actions: ["delete", "restore", "purge", "restore_version"] },
    { label: "Liens de partage", actions: ["link_created", "link_revoked", "link_download", "link_zip"] },
    { label: "Membres et invitations", actions: ["member_added", "member_invited", "invitation_accepted", "invitation_cancelled", "invitation_renewed", "member_role", "member_removed"] },
    { label: "Quota", actions: ["quota_set"] }
];

const AUDIT_LABELS: Record<string, string> = {
    upload: "a déposé",
    folder_created: "a créé le dossier",
    copy: "a copié",
    download: "a téléchargé",
    download_zip: "a téléchargé en zip",
    move: "a renommé ou déplacé",
    move_in: "a déplacé ici",
    move_out: "a déplacé vers un autre espace",
    delete: "a mis à la corbeille",
    restore: "a restauré",
    restore_version: "a restauré une version",
    purge: "a supprimé définitivement",
    link_created: "a créé un lien de partage",
    link_revoked: "a révoqué un lien de partage",
    link_download: "a téléchargé par un lien",
    link_zip: "a téléchargé en zip par un lien",
    member_added: "a ajouté un membre",
    member_invited: "a invité",
    invitation_accepted: "a accepté l'invitation",
    invitation_cancelled: "a annulé l'invitation de",
    invitation_renewed: "a renouvelé l'invitation de",
    member_role: "a changé le rôle de",
    member_removed: "a retiré",
    quota_set: "a changé le quota"
};

/** « a déposé » for "upload"; an unknown action shows as itself. */
export function auditLabel(action: string): string {
    return AUDIT_LABELS[action] ?? action;
}

/** Who did it: « Vous », the agent's email, « Un lien de partage », « Bureau (automatique) », else the id. */
export function auditActor(e: Pick<AuditEntry, "actor" | "actor_email">, meId: string): string {
    if (e.actor === meId) return "Vous";
    if (e.actor === "system") return "Bureau (automatique)";
    if (e.actor.startsWith("link:")) return "Un lien de partage";
    return e.actor_email || e.actor;
}

// ---- Several items at once -------------------------------------------------------

export type BatchFailure = { name: string; message: string };

/**
 * Runs op on each item in turn (the service has no batch endpoint: each
 * item keeps its own rights and errors), reporting progress; returns the
 * items that failed with the service's message.
 */
export async function runBatch<T extends { name: string }>(
    items: T[],
    op: (item: T) => Promise<unknown>,
    progress: (done: number, total: number) => void
): Promise<BatchFailure[]> {
    const failures: BatchFailure[] = [];
    progress(0, items.length);
    for (let i = 0; i < items.length; i++) {
        try {
            await op(items[i]);
        } catch (err) {
            failures.push({ name: items[i].name, message: errorMessage(err) });
        }
        progress(i + 1, items.length);
    }
    return failures;
}
