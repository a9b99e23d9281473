// End-to-end check of the Messagerie view against a running Bureau (gateway + chat).
//
// Env: BUREAU_URL (required), SCREENSHOT_DIR (optional), CHROMIUM (default
// /usr/bin/chromium), E2E_TIMEOUT_MS (default 180000), CHAT_REQUIRE_E2EE=1 to
// fail when end-to-end encryption is not available in the browser.
// Stdout protocol: "PASS" (exit 0) or "FAIL <reason>" (exit 1, with failure.png
// in SCREENSHOT_DIR). Diagnostics go to stderr ("E2EE on|off" among them).
//
// Bruno signs in to the Messagerie first (so that the directory knows him),
// then Alice (second browser context). Alice creates a room inviting Bruno,
// found through the directory — end-to-end encrypted when the browser and the
// homeserver support it — and writes "Bonjour Bruno". Bruno sees the
// invitation arrive live, joins, reads the message (decrypted), answers
// "Bonjour Alice", and Alice receives it. Alice then attaches an image and a
// text file ("Joindre un fichier"): Bruno sees the image and downloads the
// file (both encrypted as attachments in an encrypted room). Screenshots: list and conversation,
// desktop and 360 px.
import { deflateSync } from "node:zlib";
import { harness } from "./harness.mjs";

const base = (process.env.BUREAU_URL ?? "").replace(/\/+$/, "");
const requireE2EE = process.env.CHAT_REQUIRE_E2EE === "1";
const GLOBAL_TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_MS ?? 180_000);
const STEP_TIMEOUT_MS = 30_000;
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 360, height: 740 };
const ALICE = "alice.martin@interieur.gouv.fr";
const BRUNO = "bruno.leroy@interieur.gouv.fr";

let page;
let browser;
const { log, screenshot, fail, step, launch, run } = harness("e2e-chat", GLOBAL_TIMEOUT_MS, () => shot("failure"));
const shot = (name, p = page, opts) => screenshot(p, name, opts);

/** A browser context signed in as `email`, on the Messagerie (SSO to the homeserver done). */
async function newAgentPage(email) {
    const context = await browser.newContext({ viewport: DESKTOP, locale: "fr-FR" });
    const p = await context.newPage();
    p.setDefaultTimeout(STEP_TIMEOUT_MS);
    p.on("pageerror", (err) => log(`${email} page error:`, err.message));
    p.on("console", (msg) => {
        if (msg.type() === "error") log(`${email} console error:`, msg.text().split("\n")[0]);
        if (msg.type() === "warning" && msg.text().startsWith("messagerie:")) log(`${email}:`, msg.text().split("\n")[0]);
    });
    p.on("response", (r) => r.status() >= 400 && log(`${email}: HTTP ${r.status()} ${r.request().method()} ${r.url()}`));
    const origin = new URL(base).origin;
    await p.goto(`${base}/auth/login?login_hint=${encodeURIComponent(email)}&redirect=${encodeURIComponent("/messagerie")}`, { waitUntil: "load" });
    await p.waitForURL((u) => u.origin === origin && u.pathname === "/messagerie" && !u.searchParams.has("loginToken"), { timeout: STEP_TIMEOUT_MS });
    await p.getByRole("button", { name: "Nouvelle conversation" }).waitFor();
    return p;
}

/** Waits for a message bubble with this text, sent (not a local echo). */
async function waitMessage(p, text) {
    await p.locator(".bureau-chat__msg:not(.is-pending) .bureau-chat__bubble", { hasText: text }).first().waitFor();
}

async function send(p, text) {
    const input = p.getByLabel("Votre message");
    await input.fill(text);
    await input.press("Enter");
    await waitMessage(p, text);
    if ((await input.inputValue()) !== "") throw new Error("composer not cleared after sending");
}

/** A w×h RGB PNG (a gradient): what "Joindre un fichier" sends as an image. */
function makePNG(w, h) {
    const crcTable = Array.from({ length: 256 }, (_, n) => {
        let c = n;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
        return c >>> 0;
    });
    const crc = (buf) => {
        let c = 0xffffffff;
        for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
        return (c ^ 0xffffffff) >>> 0;
    };
    const chunk = (type, data) => {
        const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
        const out = Buffer.alloc(body.length + 8);
        out.writeUInt32BE(data.length, 0);
        body.copy(out, 4);
        out.writeUInt32BE(crc(body), body.length + 4);
        return out;
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(w, 0);
    ihdr.writeUInt32BE(h, 4);
    ihdr[8] = 8; // bit depth
    ihdr[9] = 2; // RGB
    const raw = Buffer.alloc((w * 3 + 1) * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.set([(x * 6) & 255, (y * 8) & 255, 160], y * (w * 3 + 1) + 1 + x * 3);
    return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}
const PNG_40x30 = makePNG(40, 30);

/** Waits for an image of the timeline, decoded (for the encrypted room: downloaded and decrypted). */
async function waitImage(p, name, width) {
    const img = p.locator(`.bureau-chat__msg:not(.is-pending) img.bureau-chat__image[alt="${name}"]`).first();
    await img.waitFor();
    await p.waitForFunction(([el, w]) => el.complete && el.naturalWidth === w, [await img.elementHandle(), width]);
}

async function main() {
    if (!base) throw new Error("BUREAU_URL is not set");
    browser = await launch();

    const bruno = await step("bruno signs in to the Messagerie", () => newAgentPage(BRUNO));
    page = await step("alice signs in to the Messagerie", () => newAgentPage(ALICE));
    await step("alice sees an empty list", async () => {
        await page.getByText("Aucune conversation").waitFor();
    });
    await shot("01-alice-empty");

    const roomName = `Équipe projet ${Date.now() % 100000}`;
    let e2ee = false;
    await step("alice creates a room inviting bruno", async () => {
        await page.getByRole("button", { name: "Nouveau salon" }).click();
        const dialog = page.locator("#bureau-chat-new-room");
        await dialog.getByLabel("Nom du salon").fill(roomName);
        await dialog.getByLabel("Inviter des agents").fill("bruno");
        await dialog.getByRole("button", { name: /Inviter Bruno/ }).click();
        await dialog.getByText("Bruno Leroy").first().waitFor();
        const box = dialog.getByLabel("Chiffrer de bout en bout");
        e2ee = (await box.count()) > 0 && (await box.isChecked());
        log(`E2EE ${e2ee ? "on" : "off"}`);
        if (requireE2EE && !e2ee) throw new Error("end-to-end encryption is not available");
        await dialog.getByRole("button", { name: "Créer le salon" }).click();
        await page.waitForURL(/\/messagerie\/!/);
        await page.getByRole("heading", { level: 2, name: roomName }).waitFor();
        await page.locator(".bureau-chat__composer, .bureau-chat__room .fr-alert--info").first().waitFor();
        if (!e2ee && (await page.locator(".bureau-chat__room .fr-alert--info").count())) {
            // The homeserver encrypts private rooms from the start (as Tchap does).
            throw new Error(
                "the room is end-to-end encrypted but the browser could not start encryption (is 'wasm-unsafe-eval' in the CSP script-src?)"
            );
        }
    });
    await step("alice writes to bruno", () => send(page, "Bonjour Bruno"));

    await step("bruno sees the invitation arrive", async () => {
        const item = bruno.locator(".bureau-chat__room-item", { hasText: roomName });
        await item.getByText("Invitation").waitFor();
        await item.getByRole("link").click();
        await bruno.getByText(/vous invite à rejoindre/).waitFor();
    });
    await step("bruno joins and reads the message", async () => {
        await bruno.getByRole("button", { name: "Rejoindre" }).click();
        await waitMessage(bruno, "Bonjour Bruno");
        if (e2ee) {
            await bruno.getByText("Chiffré de bout en bout").first().waitFor();
            if (await bruno.locator(".bureau-chat__bubble.is-undecryptable").count()) throw new Error("bruno cannot decrypt a message");
        }
    });
    await step("bruno answers", () => send(bruno, "Bonjour Alice"));
    await step("alice receives the answer", async () => {
        await waitMessage(page, "Bonjour Alice");
        const sender = page.locator(".bureau-chat__msg.is-start", { hasText: "Bonjour Alice" }).locator(".bureau-chat__sender");
        if (!(await sender.innerText()).includes("Bruno")) throw new Error(`sender shown as ${await sender.innerText()}`);
        if (e2ee && (await page.locator(".bureau-chat__bubble.is-undecryptable").count())) throw new Error("alice cannot decrypt a message");
    });
    await step("alice sends an image and a file", async () => {
        const input = page.getByTestId("chat-attach-input");
        await input.setInputFiles({ name: "plan.png", mimeType: "image/png", buffer: PNG_40x30 });
        await waitImage(page, "plan.png", 40);
        await input.setInputFiles({ name: "compte-rendu.txt", mimeType: "text/plain", buffer: Buffer.from("Compte rendu de la réunion\n") });
        await page.locator(".bureau-chat__msg:not(.is-pending) .bureau-chat__bubble", { hasText: "compte-rendu.txt" }).waitFor();
    });
    await step("bruno sees the image and can download the file", async () => {
        await waitImage(bruno, "plan.png", 40);
        const link = bruno.locator(".bureau-chat__bubble button", { hasText: "compte-rendu.txt" }).first();
        await link.waitFor();
        const [download] = await Promise.all([bruno.waitForEvent("download"), link.click()]);
        if (download.suggestedFilename() !== "compte-rendu.txt") throw new Error(`download named ${download.suggestedFilename()}`);
        const text = await new Promise((resolve, reject) =>
            download.createReadStream().then((s) => {
                let out = "";
                s.on("data", (c) => (out += c));
                s.on("end", () => resolve(out));
                s.on("error", reject);
            }, reject)
        );
        if (text !== "Compte rendu de la réunion\n") throw new Error(`downloaded ${JSON.stringify(text)}`);
    });
    await step("shift+enter makes a new line", async () => {
        const input = page.getByLabel("Votre message");
        await input.fill("Ligne 1");
        await input.press("Shift+Enter");
        await input.type("Ligne 2");
        if ((await input.inputValue()) !== "Ligne 1\nLigne 2") throw new Error(`composer has ${JSON.stringify(await input.inputValue())}`);
        await input.press("Enter");
        await waitMessage(page, "Ligne 2");
    });
    await shot("02-alice-room-desktop");
    await shot("03-bruno-room-desktop", bruno);

    await step("the list shows the room with its last message", async () => {
        await bruno.waitForTimeout(500);
        const item = bruno.locator(".bureau-chat__room-item", { hasText: roomName });
        await item.getByText(/Ligne 1/).waitFor();
    });

    await step("phone: list and conversation are two screens", async () => {
        await page.setViewportSize(PHONE);
        await page.goto(base + "/messagerie", { waitUntil: "load" });
        await page.locator(".bureau-chat__room-item", { hasText: roomName }).waitFor();
        if (await page.locator(".bureau-chat__room").isVisible()) throw new Error("conversation pane visible on the phone list");
        await shot("04-alice-list-phone");
        await page.locator(".bureau-chat__room-item", { hasText: roomName }).getByRole("link").click();
        await waitMessage(page, "Bonjour Alice");
        if (await page.locator(".bureau-chat__list").isVisible()) throw new Error("list visible on the phone conversation");
        await shot("05-alice-room-phone");
        await page.getByRole("link", { name: "Conversations" }).click();
        await page.locator(".bureau-chat__room-item", { hasText: roomName }).waitFor();
    });

}

run(main);
