// End-to-end check of Visio against a running Bureau (all-in-one with
// meet.ice.loopback_only: true): two agents of the same ministry meet, each
// decodes the other's (fake) camera — sent in simulcast, the receiver asking
// for the layer its tile size needs —, chat and hand are relayed, and a screen
// share reaches the other side as a second video track.
//
// Env: BUREAU_URL (required), SCREENSHOT_DIR (optional), CHROMIUM (default
// /usr/bin/chromium), E2E_TIMEOUT_MS (default 210000), VISIO_SCREEN=0 to skip
// the screen share step, VISIO_MODERATION=0 to skip the host muting the other
// participant (protocol round 2: `moderate`/`moderated`), VISIO_GUEST=0 to skip
// the guest (no account) who opens a guest link, waits in the lobby, is
// admitted and decodes the meeting's video.
// Stdout protocol: "PASS" (exit 0) or "FAIL <reason>" (exit 1). Diagnostics on stderr.
import { harness, WEBRTC_ARGS } from "./harness.mjs";

const base = (process.env.BUREAU_URL ?? "").replace(/\/+$/, "");
const GLOBAL_TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_MS ?? 210_000);
const STEP_TIMEOUT_MS = 20_000;
const MEDIA_TIMEOUT_MS = 30_000;
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 360, height: 740 };
const ALICE = "alice.martin@interieur.gouv.fr";
const BRUNO = "bruno.leroy@interieur.gouv.fr";

const pages = {};
let browser;
const { log, screenshot, fail, step, launch, run } = harness("visio-e2e", GLOBAL_TIMEOUT_MS, async () => {
    for (const [who, p] of Object.entries(pages)) {
        await shot(p, `visio-failure-${who}`);
        log(`${who} at the failure:`, JSON.stringify(await mediaState(p).catch((e) => String(e))));
    }
});

/** What a page sends and receives, for a failure's diagnostics. */
function mediaState(page) {
    return page.evaluate(async () => {
        const pc = window.__visio?.pc;
        if (!pc) return { state: "no pc" };
        const out = [];
        const inb = [];
        (await pc.getStats()).forEach((r) => {
            if (r.type === "outbound-rtp") out.push(`${r.kind}:${r.rid ?? "-"}:${r.packetsSent ?? 0}p:${r.framesEncoded ?? 0}f:${r.qualityLimitationReason ?? ""}`);
            if (r.type === "inbound-rtp") inb.push(`${r.kind}:${r.mid}:${r.packetsReceived ?? 0}p:${r.framesDecoded ?? 0}f`);
        });
        return { state: pc.connectionState, out, in: inb, transceivers: pc.getTransceivers().map((t) => `${t.mid}:${t.receiver.track.kind}:${t.currentDirection}`) };
    });
}
const shot = screenshot;

/** Polls fn until it returns a truthy value or the deadline passes (no fixed sleeps). */
async function until(what, fn, timeout = MEDIA_TIMEOUT_MS) {
    const deadline = Date.now() + timeout;
    let last;
    while (Date.now() < deadline) {
        last = await fn();
        if (last && last.ok) return last;
        await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`${what} (last: ${JSON.stringify(last)})`);
}

/** Inbound video reports of the page's current RTCPeerConnection (window.__visio.pc). */
function inboundVideo(page) {
    return page.evaluate(async () => {
        const pc = window.__visio?.pc;
        if (!pc) return { state: "no pc", videos: [] };
        const report = await pc.getStats();
        const videos = [];
        report.forEach((r) => {
            if (r.type === "inbound-rtp" && r.kind === "video") {
                videos.push({ mid: r.mid, framesDecoded: r.framesDecoded ?? 0, frameWidth: r.frameWidth ?? 0 });
            }
        });
        return { state: pc.connectionState, videos };
    });
}

async function decodingVideos(page, n) {
    return until(`${n} decoded video track(s)`, async () => {
        const s = await inboundVideo(page);
        const decoding = s.videos.filter((v) => v.framesDecoded > 0 && v.frameWidth > 0).length;
        return { ok: decoding >= n, ...s };
    });
}

async function newAgent(who, email, viewport, redirect) {
    const context = await browser.newContext({ viewport, locale: "fr-FR" });
    await context.grantPermissions(["camera", "microphone"], { origin: new URL(base).origin });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    page.on("pageerror", (err) => log(`${who} page error:`, err.message));
    page.on("console", (msg) => {
        if (msg.type() === "error" || msg.type() === "warning") log(`${who} console ${msg.type()}:`, msg.text());
    });
    pages[who] = page;
    await step(`${who} signs in`, async () => {
        await page.goto(`${base}/auth/login?login_hint=${encodeURIComponent(email)}&redirect=${encodeURIComponent(redirect)}`, {
            waitUntil: "load"
        });
        await page.waitForURL((u) => u.pathname === redirect, { timeout: STEP_TIMEOUT_MS });
    });
    return page;
}

async function preJoinAndEnter(who, page, shotPrefix) {
    await step(`${who} sees the camera preview`, async () => {
        await page.locator("[data-testid=visio-prejoin]").waitFor();
        await until("preview video playing", () =>
            page.evaluate(() => {
                const v = document.querySelector("[data-testid=visio-prejoin] video");
                return { ok: !!v && v.videoWidth > 0 && v.readyState >= 2 };
            })
        );
    });
    if (shotPrefix) {
        await shot(page, `${shotPrefix}-prejoin`);
    }
    await step(`${who} joins`, async () => {
        await page.locator("[data-testid=visio-join]").click();
        await page.locator('[data-testid=visio-meeting][data-phase="joined"]').waitFor();
    });
}

async function main() {
    if (!base) throw new Error("BUREAU_URL is not set");
    browser = await launch([...WEBRTC_ARGS, "--auto-select-desktop-capture-source=Entire screen"]);

    // Alice (desktop) creates the meeting.
    const a = await newAgent("alice", ALICE, DESKTOP, "/visio");
    const link = await step("alice creates a meeting", async () => {
        await a.getByRole("heading", { level: 1, name: "Visio" }).waitFor();
        await shot(a, "visio-01-home-desktop");
        await a.locator("[data-testid=visio-create]").click();
        const input = a.locator("[data-testid=visio-link]");
        await input.waitFor();
        const value = await input.inputValue();
        if (!/\/visio\/[a-z2-7]{4}(-[a-z2-7]{4}){3}$/.test(value)) throw new Error(`unexpected meeting link ${value}`);
        return value;
    });
    await shot(a, "visio-02-created-desktop");
    const path = new URL(link).pathname;
    await step("alice opens the meeting", async () => {
        await a.locator("[data-testid=visio-enter-created]").click();
        await a.waitForURL((u) => u.pathname === path);
    });
    await preJoinAndEnter("alice", a, "visio-03-desktop");
    await a.setViewportSize(PHONE);
    await shot(a, "visio-04-phone-meeting-alone", { fullPage: false });
    await a.setViewportSize(DESKTOP);

    // Bruno (phone, same ministry: enters directly) opens the link.
    const b = await newAgent("bruno", BRUNO, PHONE, path);
    await preJoinAndEnter("bruno", b, "visio-05-phone");

    await step("alice decodes bruno's camera", () => decodingVideos(a, 1));
    await step("bruno decodes alice's camera", () => decodingVideos(b, 1));
    // Chrome sends the three encodings (rids q, h, f) the offer asked for,
    // but pauses the upper ones while its bandwidth estimate (or the CPU)
    // does not allow them: on a loaded machine the SFU's transport-cc
    // feedback shows scheduling delays as queueing and the estimate stays
    // low for a while. Then the paused encodings exist, with that reason.
    const simulcast = await step("alice sends her camera in simulcast (several encodings)", () =>
        until("two or more camera encodings being encoded, or three with the upper ones paused by the browser", () =>
            a.evaluate(async () => {
                const pc = window.__visio?.pc;
                if (!pc) return { ok: false, state: "no pc" };
                const report = await pc.getStats();
                const encoded = [];
                const rids = [];
                let limited = false;
                report.forEach((r) => {
                    if (r.type !== "outbound-rtp" || r.kind !== "video" || !r.rid) return;
                    rids.push(r.rid);
                    if ((r.framesEncoded ?? 0) > 0) encoded.push(`${r.rid}:${r.frameWidth ?? 0}x${r.frameHeight ?? 0}`);
                    if (r.qualityLimitationReason === "bandwidth" || r.qualityLimitationReason === "cpu") limited = true;
                });
                const all = ["q", "h", "f"].every((r) => rids.includes(r));
                return { ok: encoded.length >= 2 || (all && encoded.length >= 1 && limited), encoded, rids, limited };
            })
        )
    );
    log("simulcast:", JSON.stringify(simulcast));
    await step("tiles show both participants with video", async () => {
        for (const p of [a, b]) {
            await until("two tiles with video", () =>
                p.evaluate(() => {
                    const tiles = [...document.querySelectorAll('[data-visio-tile][data-source="camera"]')];
                    const withVideo = tiles.filter((t) => t.getAttribute("data-has-video") === "true");
                    return { ok: tiles.length === 2 && withVideo.length === 2, tiles: tiles.length, withVideo: withVideo.length };
                })
            );
        }
    });
    await shot(a, "visio-06-meeting-desktop", { fullPage: false });
    await shot(b, "visio-07-meeting-phone", { fullPage: false });

    await step("chat reaches the other side", async () => {
        await a.locator("[data-testid=visio-chat]").click();
        await a.locator("#visio-chat-input").fill("Bonjour Bruno");
        await a.locator("#visio-chat-input").press("Enter");
        await b.locator("[data-testid=visio-chat]").click();
        await b.locator("[data-testid=visio-chat-list]", { hasText: "Bonjour Bruno" }).waitFor();
    });
    await shot(b, "visio-08-chat-phone", { fullPage: false });
    await step("a raised hand is shown to the other side", async () => {
        await b.locator("[data-testid=visio-chat]").click(); // close the panel
        await b.locator("[data-testid=visio-hand]").click();
        await a.locator(".visio-tile__hand").waitFor();
    });
    await step("a reaction shows on the other side", async () => {
        await b.locator("[data-testid=visio-react]").click();
        await b.locator("[data-testid='visio-react-👏']").click();
        await a.locator("[data-testid=visio-reaction]", { hasText: "👏" }).waitFor();
    });
    await step("bruno's socket drops: he resumes, alice never sees him leave", async () => {
        const before = await b.evaluate(() => window.__visio.selfId);
        const frames = async (page) => (await inboundVideo(page)).videos.reduce((n, v) => n + v.framesDecoded, 0);
        // A network change: the client closes its socket (4001) and resumes
        // on a new one. A message written meanwhile is sent once back in the room.
        await b.evaluate(() => {
            window.__visio.ws.close(4001, "test: network changed");
            window.__visio.chat("écrit pendant la coupure");
        });
        await until("bruno resumed", () =>
            b.evaluate(() => ({ ok: !!window.__visio?.ws && window.__visio.ws.readyState === 1 && !document.querySelector("[data-testid=visio-reconnecting]") }))
        );
        const after = await b.evaluate(() => window.__visio.selfId);
        if (after !== before) throw new Error(`bruno rejoined as ${after} instead of resuming ${before}`);
        await a.locator("[data-testid=visio-chat-list]", { hasText: "écrit pendant la coupure" }).waitFor();
        const tile = a.locator(`[data-visio-tile][data-participant="${before}"][data-source="camera"]`);
        await tile.waitFor();
        // Media goes on over the same PeerConnection, both ways.
        for (const p of [a, b]) {
            const n = await frames(p);
            await until("more frames decoded", async () => ({ ok: (await frames(p)) > n + 10 }));
        }
    });

    if (process.env.VISIO_SCREEN !== "0") {
        const supported = await a.evaluate(() => !!navigator.mediaDevices?.getDisplayMedia);
        if (!supported) {
            log("getDisplayMedia unsupported here: screen share step skipped");
        } else {
            await step("alice shares her screen", async () => {
                await a.locator("[data-testid=visio-share]").click();
                await a.locator('[data-testid=visio-share][aria-pressed="true"]').waitFor();
            });
            await step("bruno receives a second video track", async () => {
                await decodingVideos(b, 2);
                await until("a screen tile with video", () =>
                    b.evaluate(() => ({
                        ok: !!document.querySelector('[data-visio-tile][data-source="screen"][data-has-video="true"]')
                    }))
                );
            });
            await shot(a, "visio-09-screen-share-desktop", { fullPage: false });
            await shot(b, "visio-10-screen-share-phone", { fullPage: false });
        }
    }

    if (process.env.VISIO_MODERATION !== "0") {
        await step("alice (host) mutes bruno's microphone", async () => {
            await a.locator("[data-testid=visio-participants]").click();
            await a.getByRole("button", { name: "Couper le micro de Bruno Leroy" }).click();
            await b.locator('[data-testid=visio-mic][aria-pressed="true"]').waitFor();
            await a.locator('[data-participant]:not([data-source="screen"]) [aria-label="Micro coupé"]').first().waitFor();
        });
        await shot(a, "visio-11-moderation-desktop", { fullPage: false });
    }

    if (process.env.VISIO_GUEST !== "0") {
        const roomId = path.split("/").pop();
        const guestUrl = await step("alice makes a guest link", () =>
            a.evaluate(async (id) => {
                const r = await fetch(`/api/meet/rooms/${id}/guest-links`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
                if (r.status !== 201) throw new Error(`guest link: HTTP ${r.status}`);
                return (await r.json()).url;
            }, roomId)
        );
        // A browser with no session at all.
        const context = await browser.newContext({ viewport: PHONE, locale: "fr-FR" });
        await context.grantPermissions(["camera", "microphone"], { origin: new URL(base).origin });
        const g = await context.newPage();
        g.setDefaultTimeout(STEP_TIMEOUT_MS);
        g.on("pageerror", (err) => log("guest page error:", err.message));
        pages.guest = g;
        await step("the guest opens the link and gives a name", async () => {
            await g.goto(base + new URL(guestUrl).pathname + new URL(guestUrl).hash, { waitUntil: "load" });
            await g.getByLabel("Votre nom").fill("Jeanne Invitée");
            await shot(g, "visio-12-guest-name-phone");
            await g.locator("[data-testid=visio-guest-continue]").click();
            await g.locator("[data-testid=visio-prejoin]").waitFor();
            await g.locator("[data-testid=visio-join]").click();
            await g.locator('[data-testid=visio-lobby][data-phase="lobby"]').waitFor();
        });
        await shot(g, "visio-13-guest-lobby-phone", { fullPage: false });
        await step("alice admits the guest, shown as invité", async () => {
            await a.getByRole("button", { name: "Admettre Jeanne Invitée" }).first().click();
            await g.locator('[data-testid=visio-meeting][data-phase="joined"]').waitFor();
            await a.locator("[data-testid=visio-participant-list]", { hasText: "Invité" }).waitFor();
        });
        await step("the guest decodes the meeting's video", () => decodingVideos(g, 1));
        await shot(g, "visio-14-guest-meeting-phone", { fullPage: false });
        await step("the guest closes the browser, bruno sees it", async () => {
            delete pages.guest;
            await context.close();
            await until("two camera tiles again", () =>
                b.evaluate(() => ({ ok: document.querySelectorAll('[data-visio-tile][data-source="camera"]').length === 2 }))
            );
        });
    }

    await step("alice leaves, bruno sees it", async () => {
        await a.locator("[data-testid=visio-leave]").click();
        await a.locator("[data-testid=visio-ended]").waitFor();
        await until("one camera tile left", () =>
            b.evaluate(() => ({ ok: document.querySelectorAll('[data-visio-tile][data-source="camera"]').length === 1 }))
        );
    });
}

run(main);
