// End-to-end check of the Bureau web shell against a running gateway.
//
// Env: BUREAU_URL (required), BUREAU_AGENT_EMAIL, BUREAU_AGENT_NAME,
// BUREAU_MINISTRY_NAME, SCREENSHOT_DIR (optional), CHROMIUM (default /usr/bin/chromium).
// Stdout protocol: "READY" once signed in with live notifications connected
// (the caller then publishes a notification titled "Test en direct"),
// "EVENT_OK" once it is shown, then "PASS" (exit 0) or "FAIL <reason>" (exit 1).
import { harness } from "./harness.mjs";

const base = (process.env.BUREAU_URL ?? "").replace(/\/+$/, "");
const email = process.env.BUREAU_AGENT_EMAIL ?? "alice.martin@interieur.gouv.fr";
const agentName = process.env.BUREAU_AGENT_NAME ?? "Alice Martin";
const ministryName = process.env.BUREAU_MINISTRY_NAME ?? "";
const GLOBAL_TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_MS ?? 120_000);
const STEP_TIMEOUT_MS = 15_000;
const EVENT_TIMEOUT_MS = 20_000;
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 360, height: 740 };

let page;
let browser;
const { log, screenshot, fail, step, launch, run } = harness("e2e", GLOBAL_TIMEOUT_MS, () => shot("failure"));
const shot = (name, opts) => screenshot(page, name, opts);

async function main() {
    if (!base) throw new Error("BUREAU_URL is not set");
    const origin = new URL(base).origin;

    browser = await launch();
    const context = await browser.newContext({ viewport: DESKTOP, locale: "fr-FR" });
    page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    page.on("pageerror", (err) => log("page error:", err.message));
    page.on("console", (msg) => {
        if (msg.type() === "error") log("console error:", msg.text());
    });

    // Header elements are rendered twice (header tools + mobile menu): use the visible one.
    const proConnect = page.locator(".fr-connect:visible", { hasText: "ProConnect" }).first();
    const identity = page.locator("[data-testid=agent-identity]:visible").first();
    const indicator = page.locator("[data-notifications-indicator]:visible").first();

    await step("open the home page signed out", async () => {
        await page.goto(base + "/", { waitUntil: "load" });
        await proConnect.waitFor({ state: "visible" });
        const href = await proConnect.getAttribute("href");
        if (!href?.startsWith("/auth/login?redirect=")) throw new Error(`unexpected ProConnect link ${href}`);
    });
    await shot("01-signed-out-desktop");
    await page.setViewportSize(PHONE);
    await shot("02-signed-out-phone");
    await page.setViewportSize(DESKTOP);

    await step("sign in through the identity provider", async () => {
        const loginUrl = `${base}/auth/login?login_hint=${encodeURIComponent(email)}&redirect=/`;
        await page.goto(loginUrl, { waitUntil: "load" });
        await page.waitForURL(
            (u) => u.origin === origin && !u.pathname.startsWith("/auth/"),
            { timeout: STEP_TIMEOUT_MS }
        );
    });

    await step("header shows the agent", async () => {
        await identity.waitFor({ state: "visible" });
        const text = await identity.innerText();
        if (!text.includes(agentName)) throw new Error(`agent name "${agentName}" not in header: "${text}"`);
        if (ministryName && !text.includes(ministryName)) {
            throw new Error(`ministry "${ministryName}" not in header: "${text}"`);
        }
        await page.getByRole("heading", { level: 1, name: /^Bonjour / }).waitFor();
    });

    await step("notifications connect", async () => {
        await page
            .locator('[data-notifications-indicator][data-state="connected"]:visible')
            .first()
            .waitFor({ state: "visible" });
    });
    await shot("03-signed-in-desktop");
    console.log("READY");

    await step("live notification arrives", async () => {
        await page
            .locator("[data-notifications-indicator]:visible [role=status]", { hasText: "Test en direct" })
            .first()
            .waitFor({ state: "attached", timeout: EVENT_TIMEOUT_MS });
        const badge = indicator.locator(".bureau-badge");
        await badge.waitFor({ state: "visible" });
        const count = (await badge.innerText()).trim();
        if (count !== "1") throw new Error(`unread badge shows "${count}", want "1"`);
        await shot("04a-unread-badge-desktop", { fullPage: false });
        await indicator.locator("button").first().click();
        await indicator
            .locator(".bureau-notification", { hasText: "Test en direct" })
            .first()
            .waitFor({ state: "visible" });
    });
    await shot("04-notification-panel-desktop");
    console.log("EVENT_OK");
    await page.keyboard.press("Escape");

    await step("phone layout", async () => {
        await page.setViewportSize(PHONE);
        await shot("05-signed-in-phone");
        await indicator.locator("button").first().click();
        await indicator.locator(".bureau-notification", { hasText: "Test en direct" }).first().waitFor();
        await shot("05b-notification-panel-phone", { fullPage: false });
        await page.keyboard.press("Escape");
        await page.locator("button.fr-btn--menu:visible").first().click();
        await identity.waitFor({ state: "visible" });
        await shot("06-signed-in-phone-menu", { fullPage: false });
        await page.locator("button.fr-btn--close:visible").first().click();
        await page.setViewportSize(DESKTOP);
    });

    await step("sign out", async () => {
        await page.locator("button:visible", { hasText: "Se déconnecter" }).first().click();
        await page.waitForURL((u) => u.origin === origin && !u.pathname.startsWith("/auth/"), {
            timeout: STEP_TIMEOUT_MS
        });
        await proConnect.waitFor({ state: "visible" });
        const status = await page.evaluate(async () => (await fetch("/api/me", { cache: "no-store" })).status);
        if (status !== 401) throw new Error(`/api/me answered ${status} after logout, want 401`);
    });
    await shot("07-signed-out-after-logout");

}

run(main);
