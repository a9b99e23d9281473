// What every end-to-end script shares: launching Debian Chromium with the
// flags this machine needs, logging to stderr, screenshots, steps with
// readable errors, a global timeout, and the stdout protocol the Go tests
// read ("PASS", or "FAIL <reason>" with exit code 1).
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

// Without the background-networking flags Chromium tries to reach Google's
// hosts at every start; nothing in a test may leave 127.0.0.0/8.
const BASE_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync"
];

// Fake camera and microphone, and loopback ICE candidates only.
export const WEBRTC_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns"
];

/**
 * harness(tag, timeoutMs, onFail): onFail runs before a failure is printed
 * (to take screenshots of the pages the script knows about).
 */
export function harness(tag, timeoutMs, onFail) {
    const shotDir = process.env.SCREENSHOT_DIR ?? "";
    let browser;
    let finished = false;

    const log = (...args) => console.error(`[${tag}]`, ...args);

    async function screenshot(page, name, opts = {}) {
        if (!shotDir || !page) return;
        try {
            mkdirSync(shotDir, { recursive: true });
            await page.screenshot({ path: join(shotDir, `${name}.png`), fullPage: true, ...opts });
        } catch (err) {
            log(`screenshot ${name} failed: ${err.message}`);
        }
    }

    async function fail(reason) {
        if (finished) return;
        finished = true;
        await onFail?.().catch(() => {});
        console.log(`FAIL ${String(reason).replace(/\s+/g, " ").slice(0, 500)}`);
        await browser?.close().catch(() => {});
        process.exit(1);
    }

    const timer = setTimeout(() => fail(`global timeout after ${timeoutMs} ms`), timeoutMs);

    async function step(name, fn) {
        log(name);
        try {
            return await fn();
        } catch (err) {
            throw new Error(`${name}: ${err?.message?.split("\n")[0] ?? err}`);
        }
    }

    async function launch(extraArgs = []) {
        browser = await chromium.launch({
            executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
            args: [...BASE_ARGS, ...extraArgs]
        });
        return browser;
    }

    async function pass() {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        await browser?.close().catch(() => {});
        console.log("PASS");
        process.exit(0);
    }

    /** Runs main, then prints PASS, or FAIL with its error. */
    function run(main) {
        main().then(pass, (err) => fail(err?.message ?? err));
    }

    return { log, screenshot, fail, step, launch, run };
}
