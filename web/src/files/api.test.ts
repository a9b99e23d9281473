import { afterEach, describe, expect, it, vi } from "vitest";
import {
    apiPaths,
    auditActor,
    auditLabel,
    runBatch,
    assignableRoles,
    canManageMember,
    copyName,
    hitLocation,
    looksLikeEmail,
    errorFromBody,
    filesApi,
    FilesError,
    formatSize,
    endOfDay,
    linkAuth,
    isDownloadable,
    linkToken,
    locationPath,
    nameProblem,
    parseLocation,
    quotaPercent,
    scanLabel,
    shareUrl,
    sortSpaces,
    type Location
} from "./api";
import { uploadErrorMessage, uploadFingerprint } from "./uploads";

const S = "abcdefghijklmnopqrstuvwxyz";
const F = "234567abcdefghijklmnopqrst";

describe("locations", () => {
    it("parses the view from the path", () => {
        expect(parseLocation("/fichiers")).toEqual({ view: "spaces" });
        expect(parseLocation("/fichiers/")).toEqual({ view: "spaces" });
        expect(parseLocation(`/fichiers/${S}`)).toEqual({ view: "folder", space: S, folder: "" });
        expect(parseLocation(`/fichiers/${S}/${F}`)).toEqual({ view: "folder", space: S, folder: F });
        expect(parseLocation(`/fichiers/${S}/corbeille`)).toEqual({ view: "trash", space: S });
    });
    it("refuses what is not an id", () => {
        for (const p of ["/fichier", "/fichiers/x", `/fichiers/${S}/..`, `/fichiers/${S.toUpperCase()}`, `/fichiers/${S}/${F}/${F}`, "/messagerie"]) {
            expect(parseLocation(p)).toBeNull();
        }
    });
    it("round-trips", () => {
        const locs: Location[] = [{ view: "spaces" }, { view: "folder", space: S, folder: "" }, { view: "folder", space: S, folder: F }, { view: "trash", space: S }];
        for (const l of locs) expect(parseLocation(locationPath(l))).toEqual(l);
    });
});

describe("API paths", () => {
    it("builds listing queries", () => {
        expect(apiPaths.nodes(S, {})).toBe(`/api/files/spaces/${S}/nodes?parent=`);
        expect(apiPaths.nodes(S, { parent: F, sort: "size", order: "desc", limit: 200, offset: 400 })).toBe(
            `/api/files/spaces/${S}/nodes?parent=${F}&sort=size&order=desc&limit=200&offset=400`
        );
    });
    it("encodes ids", () => {
        expect(apiPaths.content("a/b", "..")).toBe("/api/files/spaces/a%2Fb/nodes/../content");
        expect(apiPaths.restore(S, F)).toBe(`/api/files/spaces/${S}/trash/${F}/restore`);
    });
});

describe("errors", () => {
    it("uses the service's message", () => {
        const e = errorFromBody(409, { error: "name_taken", message: "Un élément porte déjà ce nom." });
        expect(e).toBeInstanceOf(FilesError);
        expect(e.code).toBe("name_taken");
        expect(e.message).toBe("Un élément porte déjà ce nom.");
    });
    it("falls back to a French message", () => {
        expect(errorFromBody(502, null).message).toContain("HTTP 502");
        expect(errorFromBody(413, "<html>").code).toBe("too_large");
        expect(errorFromBody(401, {}).message).toContain("session");
    });
    it("reads tus error bodies", () => {
        const res = { getStatus: () => 413, getBody: () => '{"error":"too_large","message":"Fichier trop volumineux (10 Go au plus)."}' };
        const err = Object.assign(new Error("x"), { originalResponse: res, originalRequest: null, causingError: null });
        expect(uploadErrorMessage(err as never)).toBe("Fichier trop volumineux (10 Go au plus).");
        expect(uploadErrorMessage(new Error("network"))).toContain("connexion");
    });
});

describe("client", () => {
    afterEach(() => vi.unstubAllGlobals());
    it("sends same-origin JSON and surfaces errors", async () => {
        const fetchMock = vi.fn(async (_url: string, _init: RequestInit) => new Response('{"error":"name_taken","message":"Nom déjà pris."}', { status: 409 }));
        vi.stubGlobal("fetch", fetchMock);
        await expect(filesApi.createFolder(S, "", "Dossier")).rejects.toMatchObject({ status: 409, code: "name_taken", message: "Nom déjà pris." });
        const [url, init] = fetchMock.mock.calls[0];
        expect(url).toBe(`/api/files/spaces/${S}/folders`);
        expect(init.method).toBe("POST");
        expect(init.credentials).toBe("same-origin");
        expect(JSON.parse(String(init.body))).toEqual({ parent: "", name: "Dossier" });
    });
    it("accepts 204 without a body", async () => {
        vi.stubGlobal("fetch", vi.fn(async () => new Response(null, { status: 204 })));
        await expect(filesApi.remove(S, F)).resolves.toBeNull();
    });
    it("unwraps lists", async () => {
        vi.stubGlobal("fetch", vi.fn(async () => new Response('{"spaces":[{"id":"x","kind":"personal","name":"Mon espace"}]}')));
        expect(await filesApi.spaces()).toEqual([{ id: "x", kind: "personal", name: "Mon espace" }]);
    });
});

describe("display helpers", () => {
    it("formats sizes in French", () => {
        expect(formatSize(0)).toBe("0 octet");
        expect(formatSize(512)).toBe("512 octets");
        expect(formatSize(1536)).toBe("1,5 Ko");
        expect(formatSize(3 * 1024 * 1024)).toBe("3 Mo");
        expect(formatSize(250 * 1024 ** 3)).toBe("250 Go");
    });
    it("only allows downloading cleared files", () => {
        expect(isDownloadable({ kind: "file", scan: "clean" })).toBe(true);
        expect(isDownloadable({ kind: "file", scan: "skipped" })).toBe(true);
        for (const scan of ["pending", "infected", "unscannable"] as const) expect(isDownloadable({ kind: "file", scan })).toBe(false);
        expect(isDownloadable({ kind: "folder" })).toBe(false);
        expect(scanLabel("infected")?.label).toBe("Infecté — en quarantaine");
        expect(scanLabel("clean")).toBeNull();
    });
    it("tolerates absent quotas", () => {
        expect(quotaPercent({})).toBeNull();
        expect(quotaPercent({ used: 5, quota: 0 })).toBeNull();
        expect(quotaPercent({ used: 25, quota: 100 })).toBe(25);
        expect(quotaPercent({ used: 250, quota: 100 })).toBe(100);
    });
    it("puts the personal space first", () => {
        const s = sortSpaces([
            { id: "b", kind: "team", name: "B" },
            { id: "p", kind: "personal", name: "Mon espace" },
            { id: "a", kind: "team", name: "A" }
        ]);
        expect(s.map((x) => x.id)).toEqual(["p", "b", "a"]);
    });
    it("checks names like the service", () => {
        expect(nameProblem("Rapport 2025.pdf")).toBeNull();
        for (const bad of ["", " a", "a ", ".", "..", "a/b", "a\\b", "a\u0000b", "é".repeat(128)]) expect(nameProblem(bad)).not.toBeNull();
    });
    it("fingerprints per destination", () => {
        const f = { name: "a b.txt", size: 3, lastModified: 42 };
        expect(uploadFingerprint(f, S, "")).not.toBe(uploadFingerprint(f, S, F));
        expect(uploadFingerprint(f, S, "")).toBe(`bureau-tus/${S}/-/3/42/a%20b.txt`);
    });
});

describe("share links", () => {
    const T = "A".repeat(20) + "b_-" + "9".repeat(20);
    it("finds the token of a share page, and only a well-formed one", () => {
        expect(linkToken(`/fichiers/lien/${T}`)).toBe(T);
        expect(linkToken(shareUrl("", T))).toBe(T);
        expect(linkToken(`/fichiers/lien/${T}/`)).toBe(T);
        for (const bad of ["/fichiers/lien/", `/fichiers/lien/${T}x`, `/fichiers/lien/${T.slice(1)}`, `/fichiers/lien/${T.slice(1)}.`, `/fichiers/${T}`]) {
            expect(linkToken(bad)).toBeNull();
        }
        // A share page is not a space: the Fichiers router leaves it alone.
        expect(parseLocation(`/fichiers/lien/${T}`)).toBeNull();
    });
    it("sends a link password as Basic with an empty user, in UTF-8", () => {
        expect(linkAuth("")).toEqual({});
        expect(linkAuth("motdepasse-123")).toEqual({ Authorization: "Basic " + Buffer.from(":motdepasse-123").toString("base64") });
        expect(linkAuth("clé-été-2031")).toEqual({ Authorization: "Basic " + Buffer.from(":clé-été-2031", "utf8").toString("base64") });
    });
    it("makes an expiry date the end of that day, local time", () => {
        const iso = endOfDay("2031-03-09")!;
        const d = new Date(iso);
        expect([d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes()]).toEqual([2031, 2, 9, 23, 59]);
        expect(endOfDay("09/03/2031")).toBeUndefined();
        expect(endOfDay("")).toBeUndefined();
    });
});

describe("members, search, copy and quota client", () => {
    afterEach(() => vi.unstubAllGlobals());
    const record = (body: string | null, status = 200) => {
        const fetchMock = vi.fn(async (_url: string, _init: RequestInit) => new Response(body, { status }));
        vi.stubGlobal("fetch", fetchMock);
        return () => {
            const [url, init] = fetchMock.mock.calls[fetchMock.mock.calls.length - 1];
            return { url, method: init.method, body: init.body ? JSON.parse(init.body as string) : undefined };
        };
    };

    it("changes a role, removes a member, withdraws an invitation", async () => {
        let last = record('{"user_id":"ubruno","role":"manager","status":"member"}');
        expect((await filesApi.setRole(S, "ubruno", "manager")).role).toBe("manager");
        expect(last()).toEqual({ url: `/api/files/spaces/${S}/members/ubruno`, method: "PATCH", body: { role: "manager" } });

        last = record(null, 204);
        await filesApi.removeMember(S, "u/x");
        expect(last()).toEqual({ url: `/api/files/spaces/${S}/members/u%2Fx`, method: "DELETE", body: undefined });

        await filesApi.cancelInvitation(S, "emma.durand@culture.gouv.fr");
        expect(last().url).toBe(`/api/files/spaces/${S}/invitations/emma.durand%40culture.gouv.fr`);
        expect(last().method).toBe("DELETE");
    });

    it("invites by email and returns the pending invitation", async () => {
        const last = record('{"user_id":"","email":"emma@culture.gouv.fr","role":"editor","status":"pending"}', 201);
        const m = await filesApi.invite(S, "emma@culture.gouv.fr", "editor");
        expect(m.status).toBe("pending");
        expect(last()).toEqual({ url: `/api/files/spaces/${S}/members`, method: "POST", body: { email: "emma@culture.gouv.fr", role: "editor" } });
    });

    it("surfaces the last-owner refusal with the service's message", async () => {
        record('{"error":"last_owner","message":"L\'espace doit garder au moins un propriétaire."}', 409);
        const err = await filesApi.removeMember(S, "ualice").catch((e) => e);
        expect(err).toBeInstanceOf(FilesError);
        expect(err.code).toBe("last_owner");
        expect(err.message).toContain("propriétaire");
    });

    it("searches with an encoded query and unwraps the hits", async () => {
        const last = record('{"items":[{"id":"n1","space_id":"s","parent_id":"p","kind":"file","name":"Rapport 50%.pdf","size":3,"space_name":"Mon espace","path":"/Budget"}]}');
        const page = await filesApi.search("50% & co");
        expect(last().url).toBe("/api/files/search?q=50%25%20%26%20co&limit=50");
        expect(page.items[0].space_name).toBe("Mon espace");
        expect(page.next).toBeUndefined();
        const more = record('{"items":[],"next":"YWJj"}');
        expect(await filesApi.search("x", undefined, 50, "a+b")).toEqual({ items: [], next: "YWJj" });
        expect(more().url).toBe("/api/files/search?q=x&limit=50&cursor=a%2Bb");
    });

    it("reads a page of the journal with filters and a cursor", async () => {
        const last = record('{"entries":[{"id":"e1","at":"2026-11-22T10:00:00Z","actor":"ubruno","actor_email":"bruno@x.fr","action":"upload","detail":"a.txt"}],"next":"Yw"}');
        const page = await filesApi.audit(S, ["upload", "copy"], "Yw");
        expect(last().url).toBe(`/api/files/spaces/${S}/audit?limit=50&action=upload%2Ccopy&cursor=Yw`);
        expect(page.entries[0].actor_email).toBe("bruno@x.fr");
        expect(page.next).toBe("Yw");
        expect(auditActor({ actor: "ubruno", actor_email: "bruno@x.fr" }, "ualice")).toBe("bruno@x.fr");
        expect(auditActor({ actor: "ualice" }, "ualice")).toBe("Vous");
        expect(auditActor({ actor: "link:abc" }, "ualice")).toBe("Un lien de partage");
        expect(auditLabel("upload")).toBe("a déposé");
        expect(auditLabel("inconnue")).toBe("inconnue");
        expect(parseLocation(`/fichiers/${S}/journal`)).toEqual({ view: "journal", space: S });
        expect(locationPath({ view: "journal", space: S })).toBe(`/fichiers/${S}/journal`);
        expect(apiPaths.zipSelection(S, [F, "b"])).toBe(`/api/files/spaces/${S}/zip?nodes=${F},b`);
    });

    it("runs a batch item by item, reporting progress and each failure", async () => {
        const seen: string[] = [];
        const failures = await runBatch(
            [{ name: "a" }, { name: "b" }, { name: "c" }],
            async (it) => {
                if (it.name === "b") throw new FilesError(409, "name_taken", "Un élément porte déjà ce nom dans ce dossier.");
            },
            (done, total) => seen.push(`${done}/${total}`)
        );
        expect(seen).toEqual(["0/3", "1/3", "2/3", "3/3"]);
        expect(failures).toEqual([{ name: "b", message: "Un élément porte déjà ce nom dans ce dossier." }]);
    });

    it("reads the agent's quota", async () => {
        const last = record('{"quota":1048576,"used":1024,"reserved":0}');
        expect(await filesApi.myQuota()).toEqual({ quota: 1048576, used: 1024, reserved: 0 });
        expect(last().url).toBe("/api/files/me/quota");
    });

    it("copies and moves across spaces", async () => {
        let last = record('{"id":"n2"}', 201);
        await filesApi.copy(S, F, { space: "t", parent: "", name: "a (copie).txt" });
        expect(last()).toEqual({ url: `/api/files/spaces/${S}/nodes/${F}/copy`, method: "POST", body: { space: "t", parent: "", name: "a (copie).txt" } });
        last = record('{"id":"n1"}');
        await filesApi.place(S, F, { space: "t", parent: "" });
        expect(last()).toEqual({ url: `/api/files/spaces/${S}/nodes/${F}`, method: "PATCH", body: { space: "t", parent: "" } });
        expect(apiPaths.zip(S, F)).toBe(`/api/files/spaces/${S}/nodes/${F}/zip`);
    });
});

describe("member rules and helpers", () => {
    it("offers roles up to one's own, none below manager", () => {
        expect(assignableRoles("owner")).toEqual(["reader", "editor", "manager", "owner"]);
        expect(assignableRoles("manager")).toEqual(["reader", "editor", "manager"]);
        expect(assignableRoles("editor")).toEqual([]);
        expect(assignableRoles(undefined)).toEqual([]);
    });
    it("lets only owners touch owners", () => {
        expect(canManageMember("manager", { role: "owner" })).toBe(false);
        expect(canManageMember("manager", { role: "editor" })).toBe(true);
        expect(canManageMember("owner", { role: "owner" })).toBe(true);
        expect(canManageMember("reader", { role: "reader" })).toBe(false);
    });
    it("recognises a plain address", () => {
        expect(looksLikeEmail("emma.durand@culture.gouv.fr")).toBe(true);
        for (const s of ["emma", "emma@", "Emma <e@x.fr>", "a b@x.fr", "e@x"]) expect(looksLikeEmail(s)).toBe(false);
    });
    it("opens a folder hit itself and a file hit's folder", () => {
        expect(hitLocation({ kind: "folder", id: F, space_id: S, parent_id: "" })).toEqual({ view: "folder", space: S, folder: F });
        expect(hitLocation({ kind: "file", id: "n", space_id: S, parent_id: F })).toEqual({ view: "folder", space: S, folder: F });
    });
    it("names a duplicate before the extension", () => {
        expect(copyName("Rapport.pdf", "file")).toBe("Rapport (copie).pdf");
        expect(copyName(".env", "file")).toBe(".env (copie)");
        expect(copyName("v1.2", "folder")).toBe("v1.2 (copie)");
    });
});
