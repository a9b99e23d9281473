// End-to-end check of the Fichiers view against a running Bureau (gateway + files).
//
// Env: BUREAU_URL (required), SCREENSHOT_DIR (optional), CHROMIUM (default
// /usr/bin/chromium), E2E_TIMEOUT_MS (default 120000).
// Stdout protocol: "PASS" (exit 0) or "FAIL <reason>" (exit 1, with failure.png
// in SCREENSHOT_DIR). Diagnostics go to stderr.
//
// Alice creates a WebDAV app password (it opens /dav/, then no more once
// revoked), creates a team space and adds Bruno through the share dialog
// (directory search, role). Bruno opens the space in his own browser
// context. Alice uploads a generated 3 MB file (upload throttled so that the
// progress bar is seen mid-way, paused and resumed); Bruno sees it appear
// live — no reload — and downloads it: same bytes. Alice uploads a new
// version and restores the first from the versions dialog. She creates a read-only
// share link on it with an expiry and a password; a third, anonymous context
// opens the link, is refused with a wrong password, and with the right one
// downloads the same bytes. Alice puts the file in the trash and restores it,
// then finds it with the search of the spaces page (360 px wide) and opens its folder.
// In the members tab she makes Bruno a reader, invites an unknown address
// (« En attente ») and withdraws it, and is refused leaving as the last owner.
// She duplicates the file in its folder and moves the copy to her personal
// space; a new folder's zip link serves a zip; the file and the folder,
// selected together, download as one zip; the space's « Journal » lists the
// upload, and its members filter only member changes.
import { harness } from "./harness.mjs";
import { readFileSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";

const base = (process.env.BUREAU_URL ?? "").replace(/\/+$/, "");
const GLOBAL_TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_MS ?? 120_000);
const STEP_TIMEOUT_MS = 15_000;
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 360, height: 740 };
const ALICE = "alice.martin@interieur.gouv.fr";
const BRUNO = "bruno.leroy@interieur.gouv.fr";
const FILE_SIZE = 3 * 1024 * 1024;
const LINK_PASSWORD = "motdepasse-e2e";

let page;
let browser;
const { log, screenshot, step, launch, run } = harness("e2e-files", GLOBAL_TIMEOUT_MS, () => shot("failure"));
const shot = (name, p = page, opts) => screenshot(p, name, opts);
const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");

async function newPage(label, viewport = DESKTOP) {
    const context = await browser.newContext({ viewport, locale: "fr-FR", acceptDownloads: true });
    const p = await context.newPage();
    p.setDefaultTimeout(STEP_TIMEOUT_MS);
    p.on("pageerror", (err) => log(`${label} page error:`, err.message));
    p.on("console", (msg) => {
        if (msg.type() === "error") log(`${label} console error:`, msg.text());
    });
    return p;
}

async function newAgentPage(email, redirect) {
    const p = await newPage(email);
    const origin = new URL(base).origin;
    await p.goto(`${base}/auth/login?login_hint=${encodeURIComponent(email)}&redirect=${encodeURIComponent(redirect)}`, { waitUntil: "load" });
    await p.waitForURL((u) => u.origin === origin && !u.pathname.startsWith("/auth/"), { timeout: STEP_TIMEOUT_MS });
    return p;
}

async function waitUploaded(p, name) {
    await p.locator(`.bureau-upload[data-upload-name="${name}"][data-upload-status="done"]`).waitFor({ timeout: 30_000 });
    const row = p.locator(`.bureau-upload[data-upload-name="${name}"]`);
    const pct = (await row.locator("[data-testid=upload-percent]").innerText()).replace(/\s/g, "");
    if (pct !== "100%") throw new Error(`progress shows ${pct} once done`);
    const value = await row.locator("progress").getAttribute("value");
    if (value !== "100") throw new Error(`progress bar value ${value} once done`);
}

/** Clicks a download link and returns the saved bytes. */
async function downloadBytes(p, link, name) {
    await link.waitFor({ timeout: 30_000 }); // shown once the scan allows it
    const [download] = await Promise.all([p.waitForEvent("download"), link.click()]);
    if (download.suggestedFilename() !== name) throw new Error(`downloaded as ${download.suggestedFilename()}`);
    return readFileSync(await download.path());
}

async function main() {
    if (!base) throw new Error("BUREAU_URL is not set");
    browser = await launch();

    // Bruno signs in first so that the directory knows him.
    const bruno = await step("bruno signs in", () => newAgentPage(BRUNO, "/fichiers"));
    page = await step("alice signs in to /fichiers", () => newAgentPage(ALICE, "/fichiers"));
    await step("spaces list shows her personal space first", async () => {
        await page.getByRole("heading", { level: 1, name: "Fichiers" }).waitFor();
        const first = page.locator(".bureau-files__space").first();
        if ((await first.getAttribute("data-space-kind")) !== "personal") throw new Error("personal space is not first");
    });

    await step("alice creates a WebDAV app password that works, then revokes it", async () => {
        await page.getByRole("button", { name: /Accès WebDAV/ }).click();
        const box = page.getByTestId("webdav");
        await box.getByLabel("Libellé du nouveau mot de passe").fill("Poste e2e");
        await box.getByRole("button", { name: "Créer un mot de passe" }).click();
        const password = await box.getByTestId("app-password").innerText();
        const propfind = (pw) =>
            page.evaluate(
                async ({ email, pw }) =>
                    (await fetch("/dav/", { method: "PROPFIND", credentials: "omit", headers: { Depth: "0", Authorization: "Basic " + btoa(`${email}:${pw}`) } })).status,
                { email: ALICE, pw }
            );
        if ((await propfind(password)) !== 207) throw new Error("the new app password is refused by /dav/");
        await box.locator("li", { hasText: "Poste e2e" }).getByRole("button", { name: "Révoquer" }).click();
        await box.getByText("Le mot de passe « Poste e2e » est révoqué.").waitFor();
        if ((await propfind(password)) !== 401) throw new Error("a revoked app password still opens /dav/");
    });

    const spaceName = `Équipe projet ${Date.now()}`;
    const space = await step("alice creates a team space", async () => {
        await page.getByRole("button", { name: "Nouvel espace d'équipe" }).click();
        const dialog = page.locator("#bureau-files-new-space");
        await dialog.getByLabel("Nom de l'espace").fill(spaceName);
        await dialog.getByRole("button", { name: "Créer" }).click();
        await page.waitForURL(/\/fichiers\/[a-z2-7]{26}$/);
        await page.getByRole("heading", { level: 1, name: spaceName }).waitFor();
        await page.getByTestId("empty-state").waitFor();
        await page.getByTestId("quota").waitFor();
        return new URL(page.url()).pathname.split("/")[2];
    });

    await step("alice adds bruno as contributor through the share dialog", async () => {
        await page.getByRole("button", { name: "Partager", exact: true }).click();
        const dialog = page.locator("#bureau-files-share");
        await dialog.getByTestId("members-panel").locator("li").first().waitFor(); // herself, owner
        await dialog.getByLabel("Rechercher un agent").fill("bruno");
        await dialog.locator(`[data-testid=directory-results] button[data-email="${BRUNO}"]`).click();
        await dialog.getByLabel("Rôle").selectOption("editor");
        await dialog.getByRole("button", { name: "Ajouter", exact: true }).click();
        await dialog.getByText("a été ajouté comme contributeur").waitFor();
        await dialog.getByTestId("members-panel").locator("li", { hasText: "Bruno" }).filter({ hasText: "contributeur" }).waitFor();
    });
    await page.setViewportSize(PHONE);
    await shot("01-share-members-phone", page, { fullPage: false });
    await page.setViewportSize(DESKTOP);
    await page.locator("#bureau-files-share").getByRole("button", { name: "Fermer" }).click();

    await step("bruno opens the space (no reload after this)", async () => {
        await bruno.goto(`${base}/fichiers/${space}`, { waitUntil: "load" });
        await bruno.getByRole("heading", { level: 1, name: spaceName }).waitFor();
        await bruno.getByTestId("empty-state").waitFor();
        // Gone if the page reloads or navigates away.
        await bruno.evaluate(() => (window.__stillHere = true));
    });

    const name = `rapport-${Date.now()}.bin`;
    const content = randomBytes(FILE_SIZE);
    await step("alice uploads 3 MB with progress, pause and resume", async () => {
        // Throttle uploads so that progress, pause and resume can be seen.
        const cdp = await page.context().newCDPSession(page);
        await cdp.send("Network.enable");
        await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 1024 * 1024 });
        await page.locator("[data-testid=upload-input]").setInputFiles({ name, mimeType: "application/octet-stream", buffer: content });
        const row = page.locator(`.bureau-upload[data-upload-name="${name}"]`);
        await row.waitFor({ state: "visible" });
        await page.waitForFunction(
            (n) => {
                const v = Number(document.querySelector(`.bureau-upload[data-upload-name="${n}"] progress`)?.getAttribute("value"));
                return v > 0 && v < 100;
            },
            name,
            { timeout: 10_000, polling: 50 }
        );
        await shot("02-upload-in-progress", page, { fullPage: false });
        let paused = false;
        try {
            await row.getByTitle(`Mettre en pause ${name}`).click({ timeout: 2000 });
            await page.locator(`.bureau-upload[data-upload-name="${name}"][data-upload-status="paused"]`).waitFor({ timeout: 2000 });
            paused = true;
            await row.getByTitle(`Reprendre ${name}`).click();
        } catch (err) {
            log(`could not pause mid-way (${err.message.split("\n")[0]}); going on`);
        }
        log(paused ? "paused and resumed" : "no pause");
        await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
        await waitUploaded(page, name);
        await page.locator(`tr[data-node-name="${name}"]`).waitFor();
    });

    await step("bruno sees the file appear live and downloads the same bytes", async () => {
        await bruno.locator(`tr[data-node-name="${name}"]`).waitFor({ timeout: 15_000 });
        if (!(await bruno.evaluate(() => window.__stillHere === true))) throw new Error("bruno's page reloaded");
        const got = await downloadBytes(bruno, bruno.locator(`tr[data-node-name="${name}"] a[data-action=download]`), name);
        if (sha256(got) !== sha256(content)) throw new Error(`bruno downloaded ${got.length} different bytes`);
    });
    await shot("03-bruno-live", bruno);

    await step("alice uploads a new version, then restores the first one", async () => {
        await page.getByRole("button", { name: "Effacer les envois terminés" }).click();
        await page.locator("[data-testid=upload-input]").setInputFiles({ name, mimeType: "application/octet-stream", buffer: randomBytes(100_000) });
        await waitUploaded(page, name);
        await page.getByTitle(`Versions de ${name}`).click();
        const dialog = page.locator("#bureau-files-versions");
        const items = dialog.locator("[data-testid=versions] li");
        await items.nth(1).waitFor();
        if ((await items.count()) !== 2) throw new Error(`${await items.count()} versions, want 2`);
        await items.nth(1).getByRole("button", { name: "Restaurer" }).click();
        await dialog.getByText("est redevenue la version actuelle").waitFor();
        await items.nth(2).waitFor();
        await shot("04-versions", page, { fullPage: false });
        await dialog.getByRole("button", { name: "Fermer" }).click();
        await page.locator(`tr[data-node-name="${name}"] td.bureau-files__col-size`).filter({ hasText: "3 Mo" }).waitFor();
    });

    const url = await step("alice creates a read-only share link with an expiry and a password", async () => {
        await page.getByTitle(`Partager ${name}`).click();
        const dialog = page.locator("#bureau-files-share");
        await dialog.getByText("Nouveau lien pour").waitFor();
        await dialog.getByLabel("Date d'expiration (facultative)").fill(new Date(Date.now() + 7 * 86400e3).toISOString().slice(0, 10));
        await dialog.getByLabel("Mot de passe (facultatif)").fill(LINK_PASSWORD);
        await dialog.getByRole("button", { name: "Créer le lien" }).click();
        const input = dialog.locator("#bureau-share-url");
        await input.waitFor();
        const url = await input.inputValue();
        if (!url.startsWith(`${base}/fichiers/lien/`)) throw new Error(`link ${url}`);
        await dialog.locator("[data-link-kind=read]").first().waitFor();
        await shot("05-share-link", page, { fullPage: false });
        await dialog.getByRole("button", { name: "Fermer" }).click();
        return url;
    });

    await step("an anonymous visitor opens the link, gives its password and downloads the file", async () => {
        const anon = await newPage("anonymous", PHONE);
        await anon.goto(url, { waitUntil: "load" });
        await anon.getByRole("heading", { level: 1, name: "Fichiers partagés" }).waitFor();
        await anon.getByLabel("Mot de passe du lien").fill("pas le bon");
        await anon.getByRole("button", { name: "Ouvrir" }).click();
        await anon.getByText("Mot de passe incorrect", { exact: false }).or(anon.locator(".fr-input-group--error")).first().waitFor();
        await anon.getByLabel("Mot de passe du lien").fill(LINK_PASSWORD);
        await anon.getByRole("button", { name: "Ouvrir" }).click();
        const got = await downloadBytes(anon, anon.locator(`li[data-node-name="${name}"]`).getByRole("button", { name: "Télécharger" }), name);
        if (sha256(got) !== sha256(content)) throw new Error(`anonymous download: ${got.length} different bytes`);
        await shot("06-anonymous-link-phone", anon);
        await anon.context().close();
    });

    await step("alice puts the file in the trash and restores it", async () => {
        await page.getByTitle(`Supprimer ${name}`).click();
        await page.locator("#bureau-files-delete").getByRole("button", { name: "Mettre à la corbeille" }).click();
        await page.locator(`tr[data-node-name="${name}"]`).waitFor({ state: "detached" });
        await page.getByRole("link", { name: "Corbeille" }).click();
        await page.waitForURL(/\/corbeille$/);
        const item = page.locator(`.bureau-files__trash li[data-node-name="${name}"]`);
        await item.getByRole("button", { name: "Restaurer" }).click();
        await page.getByText(`« ${name} » a été restauré.`).waitFor();
        await page.getByRole("link", { name: "Retour aux fichiers" }).click();
        await page.locator(`tr[data-node-name="${name}"]`).waitFor();
    });
    await page.setViewportSize(PHONE);
    await shot("07-folder-phone");

    await step("alice finds the file by searching all her spaces and opens its folder", async () => {
        await page.goto(base + "/fichiers");
        await page.getByTestId("my-quota").waitFor();
        await page.getByLabel("Rechercher dans tous mes espaces").fill(name.slice(0, 12));
        const hit = page.locator(`[data-testid=search-results] li[data-hit-name="${name}"]`);
        await hit.filter({ hasText: spaceName }).waitFor();
        await shot("08-search-phone", page, { fullPage: false });
        await hit.getByRole("link", { name }).click();
        await page.getByRole("heading", { level: 1, name: spaceName }).waitFor();
        await page.locator(`tr[data-node-name="${name}"]`).waitFor();
    });

    await step("alice makes bruno a reader, invites and uninvites by email, cannot leave as the last owner", async () => {
        await page.getByRole("button", { name: "Partager", exact: true }).click();
        const dialog = page.locator("#bureau-files-share");
        const panel = dialog.getByTestId("members-panel");
        const brunoRow = panel.locator("li", { hasText: "Bruno" });
        await brunoRow.locator("select[name=member-role]").selectOption("reader");
        await brunoRow.locator(".fr-badge", { hasText: "lecteur" }).waitFor();
        const guest = `invite.e2e.${Date.now()}@culture.gouv.fr`;
        await dialog.getByLabel("Rechercher un agent").fill(guest);
        await dialog.getByTestId("invite").getByRole("button", { name: "Inviter" }).click();
        const pending = panel.locator(`li[data-member-status=pending][data-member-email="${guest}"]`);
        await pending.getByText("En attente").waitFor();
        await shot("09-members-pending-phone", page, { fullPage: false });
        await pending.getByRole("button", { name: "Annuler l'invitation" }).click();
        await pending.getByRole("button", { name: "Confirmer : annuler l'invitation" }).click();
        await pending.waitFor({ state: "detached" });
        const me = panel.locator("li", { hasText: "Vous" });
        await me.getByRole("button", { name: "Quitter l'espace" }).click();
        await me.getByRole("button", { name: "Confirmer : quitter l'espace" }).click();
        await panel.getByText("au moins un propriétaire").waitFor();
        await dialog.getByRole("button", { name: "Fermer" }).click();
    });

    await step("alice duplicates the file, then moves the copy to her personal space", async () => {
        const copy = name.replace(/\.bin$/, " (copie).bin");
        await page.getByTitle(`Copier ${name} vers…`).click();
        await page.locator("#bureau-files-copy").getByRole("button", { name: "Dupliquer ici" }).click();
        await page.locator(`tr[data-node-name="${copy}"]`).waitFor();
        await page.getByTitle(`Déplacer ${copy} vers…`).click();
        const move = page.locator("#bureau-files-move");
        await move.locator("select[name=destination-space]").selectOption({ label: "Mon espace" });
        await move.getByTestId("move-destination").filter({ hasText: "Mon espace" }).waitFor();
        await shot("10-move-picker-phone", page, { fullPage: false });
        await move.getByRole("button", { name: "Déplacer ici" }).click();
        await page.locator(`tr[data-node-name="${copy}"]`).waitFor({ state: "detached" });
        const hits = await page.evaluate(async (q) => (await (await fetch(`/api/files/search?q=${encodeURIComponent(q)}`)).json()).items, copy);
        if (hits.length !== 1 || hits[0].space_name !== "Mon espace") throw new Error(`the moved copy is not alone in « Mon espace »: ${JSON.stringify(hits)}`);
    });

    await step("a folder's « Télécharger (zip) » link serves a zip", async () => {
        await page.getByRole("button", { name: "Nouveau dossier" }).click();
        const dialog = page.locator("#bureau-files-new-folder");
        await dialog.getByLabel("Nom du dossier").fill("Archives");
        await dialog.getByRole("button", { name: "Créer" }).click();
        const href = await page.locator('tr[data-node-name="Archives"] a[data-action=zip]').getAttribute("href");
        const got = await page.evaluate(async (url) => {
            const res = await fetch(url);
            const head = new Uint8Array(await res.arrayBuffer()).slice(0, 2);
            return { status: res.status, type: res.headers.get("content-type"), head: String.fromCharCode(...head) };
        }, href);
        if (got.status !== 200 || got.type !== "application/zip" || got.head !== "PK") throw new Error(`zip link: ${JSON.stringify(got)}`);
    });

    await step("the folder view's « Rechercher » finds the new folder", async () => {
        await page.getByRole("button", { name: "Rechercher", exact: true }).click();
        await page.getByLabel("Rechercher dans tous mes espaces").fill("Archiv");
        await page.locator('[data-testid=search-results] li[data-hit-name="Archives"]').filter({ hasText: spaceName }).waitFor();
        await page.getByRole("button", { name: "Rechercher", exact: true }).click();
    });

    await step("alice selects the file and the folder and downloads both as one zip", async () => {
        await page.getByLabel(`Sélectionner ${name}`, { exact: true }).check();
        await page.getByLabel("Sélectionner Archives", { exact: true }).check();
        const bar = page.getByTestId("selection-bar");
        await bar.getByText("2 éléments sélectionnés").waitFor();
        await shot("12-selection-phone", page, { fullPage: false });
        const href = await bar.locator("a[data-action=zip-selection]").getAttribute("href");
        const got = await page.evaluate(async (url) => {
            const res = await fetch(url);
            const body = new Uint8Array(await res.arrayBuffer());
            return { status: res.status, head: String.fromCharCode(...body.slice(0, 2)), size: body.length };
        }, href);
        if (got.status !== 200 || got.head !== "PK" || got.size < 1000) throw new Error(`selection zip: ${JSON.stringify(got)}`);
        await bar.getByRole("button", { name: "Désélectionner" }).click();
        await bar.waitFor({ state: "detached" });
    });

    await step("the space's « Journal » shows alice's upload", async () => {
        await page.getByRole("link", { name: "Journal" }).click();
        const journal = page.getByTestId("journal");
        await journal.locator("li[data-action=upload]", { hasText: name }).first().waitFor();
        await journal.locator("select[name=journal-filter]").selectOption({ label: "Membres et invitations" });
        await journal.locator("li[data-action=member_added]").first().waitFor();
        if ((await journal.locator("li[data-action=upload]").count()) !== 0) throw new Error("the members filter shows uploads");
        await shot("11-journal-phone", page, { fullPage: false });
    });
}

run(main);
