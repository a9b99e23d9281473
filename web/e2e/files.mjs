// End-to-end check of the Fichiers view against a running Bureau (gateway + files).
//
// Env: BUREAU_URL (required), SCREENSHOT_DIR (optional), CHROMIUM (default
// /usr/bin/chromium), E2E_TIMEOUT_MS (default 180000).
// Stdout protocol: "PASS" (exit 0) or "FAIL <reason>" (exit 1, with failure.png
// in SCREENSHOT_DIR). Diagnostics go to stderr.
//
// Alice signs in, opens her personal space, uploads a generated 3 MB file
// through the file input (upload throttled so that the progress bar is seen
// moving, paused and resumed), sees 100 % and the file in the list, downloads
// it and compares the size; creates a folder, puts it in the trash and
// restores it. Then she creates a team space, adds Bruno (who signed in once,
// found through /api/directory), uploads a file there, and Bruno — in a second
// browser context — sees it and downloads it.
import { harness } from "./harness.mjs";
import { statSync } from "node:fs";
import { randomBytes } from "node:crypto";

const base = (process.env.BUREAU_URL ?? "").replace(/\/+$/, "");
const GLOBAL_TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_MS ?? 180_000);
const STEP_TIMEOUT_MS = 20_000;
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 360, height: 740 };
const ALICE = "alice.martin@interieur.gouv.fr";
const BRUNO = "bruno.leroy@interieur.gouv.fr";
const FILE_SIZE = 3 * 1024 * 1024;

let page;
let browser;
const { log, screenshot, fail, step, launch, run } = harness("e2e-files", GLOBAL_TIMEOUT_MS, () => shot("failure"));
const shot = (name, p = page, opts) => screenshot(p, name, opts);

async function newAgentPage(email, redirect) {
    const context = await browser.newContext({ viewport: DESKTOP, locale: "fr-FR", acceptDownloads: true });
    const p = await context.newPage();
    p.setDefaultTimeout(STEP_TIMEOUT_MS);
    p.on("pageerror", (err) => log(`${email} page error:`, err.message));
    p.on("console", (msg) => {
        if (msg.type() === "error") log(`${email} console error:`, msg.text());
    });
    const origin = new URL(base).origin;
    await p.goto(`${base}/auth/login?login_hint=${encodeURIComponent(email)}&redirect=${encodeURIComponent(redirect)}`, { waitUntil: "load" });
    await p.waitForURL((u) => u.origin === origin && !u.pathname.startsWith("/auth/"), { timeout: STEP_TIMEOUT_MS });
    return p;
}

/** Uploads a generated file through the visible page's file input. */
async function upload(p, name, size) {
    await p.locator("[data-testid=upload-input]").setInputFiles({ name, mimeType: "application/octet-stream", buffer: randomBytes(size) });
}

async function waitUploaded(p, name) {
    const row = p.locator(`.bureau-upload[data-upload-name="${name}"]`);
    await row.locator('[data-upload-status="done"], :scope[data-upload-status="done"]').or(p.locator(`.bureau-upload[data-upload-name="${name}"][data-upload-status="done"]`)).first().waitFor({ timeout: 60_000 });
    const pct = (await row.locator("[data-testid=upload-percent]").innerText()).replace(/\s/g, "");
    if (pct !== "100%") throw new Error(`progress shows ${pct} once done`);
    const value = await row.locator("progress").getAttribute("value");
    if (value !== "100") throw new Error(`progress bar value ${value} once done`);
    await p.locator(`tr[data-node-name="${name}"]`).waitFor({ state: "visible" });
}

/** Clicks the row's download link (once the scan allows it) and returns the saved size. */
async function downloadSize(p, name) {
    const link = p.locator(`tr[data-node-name="${name}"] a[data-action=download]`);
    const deadline = Date.now() + 60_000;
    while (!(await link.count())) {
        // A pending scan: the scan notification refreshes the folder; reload as a fallback.
        if (Date.now() > deadline) throw new Error(`no download link for ${name} (scan not cleared)`);
        await p.waitForTimeout(2000);
        if (!(await link.count())) await p.reload({ waitUntil: "load" });
    }
    const [download] = await Promise.all([p.waitForEvent("download"), link.click()]);
    const path = await download.path();
    if (download.suggestedFilename() !== name) throw new Error(`downloaded as ${download.suggestedFilename()}`);
    return statSync(path).size;
}

async function main() {
    if (!base) throw new Error("BUREAU_URL is not set");
    browser = await launch();

    // Bruno signs in once so that the directory knows him.
    const bruno = await step("bruno signs in once", () => newAgentPage(BRUNO, "/fichiers"));

    page = await step("alice signs in to /fichiers", () => newAgentPage(ALICE, "/fichiers"));
    await step("spaces list shows her personal space first", async () => {
        await page.getByRole("heading", { level: 1, name: "Fichiers" }).waitFor();
        const first = page.locator(".bureau-files__space").first();
        if ((await first.getAttribute("data-space-kind")) !== "personal") throw new Error("personal space is not first");
    });
    await shot("01-spaces-desktop");

    await step("open the personal space", async () => {
        await page.locator('.bureau-files__space[data-space-kind="personal"] a').first().click();
        await page.waitForURL(/\/fichiers\/[a-z2-7]{26}$/);
        // Empty on a fresh instance; a table when run again against the same data.
        await page.getByTestId("empty-state").filter({ hasText: "Ce dossier est vide" }).or(page.locator(".bureau-files__table")).first().waitFor();
    });
    await shot("02-empty-folder-desktop");

    const name = `rapport-${Date.now()}.bin`;
    await step("upload 3 MB with progress, pause and resume", async () => {
        // Throttle uploads so that progress, pause and resume can be seen.
        const cdp = await page.context().newCDPSession(page);
        await cdp.send("Network.enable");
        await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 1024 * 1024 });
        await upload(page, name, FILE_SIZE);
        const row = page.locator(`.bureau-upload[data-upload-name="${name}"]`);
        await row.waitFor({ state: "visible" });
        let paused = false;
        try {
            await page.waitForFunction(
                (n) => {
                    const el = document.querySelector(`.bureau-upload[data-upload-name="${n}"] progress`);
                    return el && Number(el.getAttribute("value")) > 0 && Number(el.getAttribute("value")) < 60;
                },
                name,
                { timeout: 5000, polling: 50 }
            );
            await shot("03-upload-in-progress-desktop", page, { fullPage: false });
            await row.getByTitle(`Mettre en pause ${name}`).click();
            await page.locator(`.bureau-upload[data-upload-name="${name}"][data-upload-status="paused"]`).waitFor();
            paused = true;
            await page.setViewportSize(PHONE);
            await shot("04-upload-paused-phone", page, { fullPage: false });
            await page.setViewportSize(DESKTOP);
            await row.getByTitle(`Reprendre ${name}`).click();
        } catch (err) {
            log(`progress not caught mid-way (${err.message.split("\n")[0]}); going on`);
        }
        log(paused ? "paused and resumed" : "no pause");
        await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
        await waitUploaded(page, name);
    });
    await shot("05-uploaded-desktop");

    await step("download and compare the size", async () => {
        const size = await downloadSize(page, name);
        if (size !== FILE_SIZE) throw new Error(`downloaded ${size} bytes, want ${FILE_SIZE}`);
    });

    const folder = `Comptes rendus ${Date.now()}`;
    await step("create a folder, trash it, restore it", async () => {
        await page.getByRole("button", { name: "Nouveau dossier" }).click();
        const dialog = page.locator("#bureau-files-new-folder");
        await dialog.getByLabel("Nom du dossier").fill(folder);
        await dialog.getByRole("button", { name: "Créer" }).click();
        await page.locator(`tr[data-node-name="${folder}"]`).waitFor();
        await page.getByTitle(`Supprimer ${folder}`).click();
        const confirm = page.locator("#bureau-files-delete");
        await confirm.getByRole("button", { name: "Mettre à la corbeille" }).click();
        await page.locator(`tr[data-node-name="${folder}"]`).waitFor({ state: "detached" });
        await page.getByRole("link", { name: "Corbeille" }).click();
        await page.waitForURL(/\/corbeille$/);
        await page.locator(`.bureau-files__trash li[data-node-name="${folder}"]`).waitFor();
    });
    await shot("06-trash-desktop");
    await page.setViewportSize(PHONE);
    await shot("07-trash-phone");
    await page.setViewportSize(DESKTOP);
    await step("restore from the trash", async () => {
        await page.locator(`.bureau-files__trash li[data-node-name="${folder}"]`).getByRole("button", { name: "Restaurer" }).click();
        await page.getByText(`« ${folder} » a été restauré.`).waitFor();
        await page.getByRole("link", { name: "Retour aux fichiers" }).click();
        await page.locator(`tr[data-node-name="${folder}"]`).waitFor();
    });
    await shot("08-folder-desktop");
    await page.setViewportSize(PHONE);
    await shot("09-folder-phone");
    await page.setViewportSize(DESKTOP);

    // Sharing: a team space with Bruno.
    const spaceName = `Équipe projet ${Date.now()}`;
    const space = await step("create a team space", async () => {
        await page.goto(base + "/fichiers", { waitUntil: "load" });
        await page.getByRole("button", { name: "Nouvel espace d'équipe" }).click();
        const dialog = page.locator("#bureau-files-new-space");
        await dialog.getByLabel("Nom de l'espace").fill(spaceName);
        await dialog.getByRole("button", { name: "Créer" }).click();
        await page.waitForURL(/\/fichiers\/[a-z2-7]{26}$/);
        await page.getByRole("heading", { level: 1, name: spaceName }).waitFor();
        return new URL(page.url()).pathname.split("/")[2];
    });
    await step("add bruno as a member", async () => {
        const status = await page.evaluate(async ({ space, email }) => {
            const dir = await (await fetch("/api/directory?q=bruno", { credentials: "same-origin" })).json();
            const b = (dir.results ?? []).find((r) => r.email === email);
            if (!b) return "bruno not in the directory";
            const res = await fetch(`/api/files/spaces/${space}/members`, {
                method: "POST",
                credentials: "same-origin",
                headers: { "Content-Type": "application/json" },
                body: JSON.stringify({ user_id: b.id, role: "editor" })
            });
            return res.status === 201 ? "ok" : `HTTP ${res.status} ${await res.text()}`;
        }, { space, email: BRUNO });
        if (status !== "ok") throw new Error(status);
    });
    const shared = `partage-${Date.now()}.bin`;
    await step("alice uploads into the team space", async () => {
        await upload(page, shared, 1024 * 1024 + 17);
        await waitUploaded(page, shared);
    });
    await step("bruno sees the space and the file, and downloads it", async () => {
        await bruno.goto(base + "/fichiers", { waitUntil: "load" });
        await bruno.getByRole("link", { name: spaceName }).click();
        await bruno.locator(`tr[data-node-name="${shared}"]`).waitFor();
        const size = await downloadSize(bruno, shared);
        if (size !== 1024 * 1024 + 17) throw new Error(`bruno downloaded ${size} bytes`);
    });
    await shot("10-bruno-team-space", bruno);

}

run(main);
