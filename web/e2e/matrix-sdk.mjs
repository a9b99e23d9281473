// matrix-js-sdk 43 in Node, with its Rust crypto (WASM, in-memory store),
// against a running Bureau (gateway + chat): the real client library Element
// and the Messagerie are built on, without a browser.
//
// Env: BUREAU_URL (required), E2E_TIMEOUT_MS (default 60000).
// Stdout protocol: "PASS" (exit 0) or "FAIL <reason>" (exit 1); progress on
// stderr.
//
// 1. Alice (Intérieur) and Chloé (Finances) sign in through the gateway
//    (development IdP, login_hint) and the homeserver's SSO token flow.
// 2. Alice opens a direct chat with Chloé: encrypted by default; each sends
//    a message, each decrypts the other's.
// 3. Chloé's typing notification and Alice's read receipt reach the other.
//    In a plain room, a thread reply of Chloé's counts in the thread's
//    unread notifications (unread_thread_notifications, which the SDK asks
//    for), not the main timeline's; Alice's threaded receipt clears it.
// 4. Alice opens a room whose history is visible from the invitation on
//    ("invited"), writes before inviting Bruno (Intérieur), then 500
//    messages; Bruno joins and back-paginates to the start: he gets exactly
//    the 500 messages, in order, and nothing from before his invitation.
import * as sdk from "matrix-js-sdk";
import { logger } from "matrix-js-sdk/lib/logger.js";
import { harness } from "./harness.mjs";

const base = (process.env.BUREAU_URL ?? "").replace(/\/+$/, "");
const GLOBAL_TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_MS ?? 60_000);
const WAIT_MS = 20_000;
const HISTORY = 500;

const { log, step: harnessStep, run } = harness("matrix-sdk", GLOBAL_TIMEOUT_MS);
const t0 = Date.now();
const step = (name, fn) => harnessStep(`${name} (at ${Date.now() - t0} ms)`, fn);
// matrix-js-sdk 43 wants Node 22 (Promise.withResolvers); this machine has
// Node 20: the standard behaviour, for the sync loop.
Promise.withResolvers ??= function withResolvers() {
    let resolve, reject;
    const promise = new this((res, rej) => {
        resolve = res;
        reject = rej;
    });
    return { promise, resolve, reject };
};
// The SDK's own chatter stays out of stdout (the PASS/FAIL protocol).
logger.setLevel(process.env.DEBUG ? "debug" : "error");
console.info = console.debug = process.env.DEBUG ? console.error : () => {};
const clients = [];
if (process.env.DEBUG) {
    const orig = globalThis.fetch;
    globalThis.fetch = async (url, opts) => {
        const t0 = Date.now();
        log(`→ ${opts?.method ?? "GET"} ${String(url).replace(base, "")}`);
        const res = await orig(url, opts);
        log(`← ${res.status} ${String(url).replace(base, "").split("?")[0]} ${Date.now() - t0} ms`);
        return res;
    };
}

/**
 * Signs in at the gateway through the development IdP (following the
 * redirects with a cookie jar), then asks the homeserver for a login token
 * with that session and exchanges it: the SSO flow of Element, by hand.
 */
async function ssoLogin(email) {
    const jar = new Map();
    const cookies = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const get = async (url) => {
        const res = await fetch(url, { redirect: "manual", headers: { cookie: cookies() } });
        for (const c of res.headers.getSetCookie()) {
            const [pair] = c.split(";");
            const i = pair.indexOf("=");
            jar.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
        }
        return res;
    };
    let url = `${base}/auth/login?redirect=/&login_hint=${encodeURIComponent(email)}`;
    for (let hops = 0; ; hops++) {
        if (hops > 10) throw new Error(`sign-in of ${email}: too many redirects`);
        const res = await get(url);
        await res.arrayBuffer();
        if (res.status < 300 || res.status >= 400) break;
        url = new URL(res.headers.get("location"), url).href;
        if (!url.startsWith(base)) throw new Error(`sign-in of ${email} left Bureau for ${url}`);
    }
    const back = "http://127.0.0.1/element/";
    const res = await get(`${base}/_matrix/client/v3/login/sso/redirect/proconnect?redirectUrl=${encodeURIComponent(back)}`);
    const loc = new URL(res.headers.get("location") ?? "", base);
    const loginToken = loc.searchParams.get("loginToken");
    if (res.status !== 302 || !loc.href.startsWith(back) || !loginToken) {
        throw new Error(`SSO redirect of ${email}: ${res.status} ${loc.href}`);
    }
    const login = await sdk.createClient({ baseUrl: base }).loginRequest({ type: "m.login.token", token: loginToken });
    return login;
}

/** A client-server API call; the JSON answer, or an error with the status. */
async function api(token, method, path, body) {
    const res = await fetch(`${base}/_matrix/client/v3${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body)
    });
    const out = await res.json();
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(out)}`);
    return out;
}

/** A started client with Rust crypto, synced. */
async function agent(email, signedIn) {
    const login = signedIn ?? (await step(`sign in ${email}`, () => ssoLogin(email)));
    const client = sdk.createClient({
        baseUrl: base,
        userId: login.user_id,
        deviceId: login.device_id,
        accessToken: login.access_token
    });
    clients.push(client);
    client.on(sdk.ClientEvent.Sync, (state, _prev, data) => {
        if (state === sdk.SyncState.Error) log(`${email}: sync error: ${data?.error?.message}`);
        if (process.env.DEBUG) log(`${email}: sync ${state} rooms=${client.getRooms().map((r) => r.roomId + ":" + r.getMyMembership())}`);
    });
    await client.initRustCrypto({ useIndexedDB: false });
    const ready = waitFor(client, sdk.ClientEvent.Sync, (state) => state === sdk.SyncState.Prepared, `${email} initial sync`);
    await client.startClient({ initialSyncLimit: 20, lazyLoadMembers: false });
    await ready;
    log(`${email} is ${login.user_id}, device ${login.device_id}`);
    return client;
}

/**
 * Resolves with the arguments of the first event, among sources
 * ([emitter, event, match] triples), for which match is true; rejects after
 * WAIT_MS. Every listener is removed either way.
 */
function waitAny(what, ...sources) {
    return new Promise((resolve, reject) => {
        const listeners = sources.map(([emitter, event, match]) => {
            const on = (...args) => {
                let ok = false;
                try {
                    ok = match(...args);
                } catch {
                    ok = false;
                }
                if (ok) {
                    done();
                    resolve(args);
                }
            };
            emitter.on(event, on);
            return () => emitter.off(event, on);
        });
        const timer = setTimeout(() => {
            done();
            reject(new Error(`timed out waiting for ${what}`));
        }, WAIT_MS);
        function done() {
            clearTimeout(timer);
            for (const off of listeners) off();
        }
    });
}

const waitFor = (emitter, event, match, what) => waitAny(what, [emitter, event, match]);

/**
 * Resolves when cond() holds, checked now and after every sync response
 * the client processes (and every room it learns about).
 */
async function until(client, cond, what) {
    if (cond()) return;
    await waitAny(what, [client, sdk.ClientEvent.Sync, () => cond()], [client, sdk.ClientEvent.Room, () => cond()]);
}

/** Waits until the client has the room with this membership. */
async function membership(client, roomId, want) {
    await until(client, () => client.getRoom(roomId)?.getMyMembership() === want, `${want} in ${roomId}`);
    return client.getRoom(roomId);
}

/** Waits for a decrypted message with this body in the room, from another user. */
async function receive(client, roomId, body) {
    const found = () =>
        client
            .getRoom(roomId)
            ?.getLiveTimeline()
            .getEvents()
            .find((ev) => ev.getType() === "m.room.message" && ev.getContent().body === body);
    let ev = found();
    if (!ev) {
        [ev] = await waitAny(
            `"${body}"`,
            [client, sdk.MatrixEventEvent.Decrypted, (e) => e.getRoomId() === roomId && e.getContent().body === body],
            [client, sdk.RoomEvent.Timeline, (e) => e.getRoomId() === roomId && e.getType() === "m.room.message" && e.getContent().body === body]
        );
    }
    return ev;
}

async function main() {
    if (!base) throw new Error("BUREAU_URL is required");
    const alice = await agent("alice.martin@interieur.gouv.fr");
    const chloe = await agent("chloe.bernard@finances.gouv.fr");

    // 2. An encrypted direct chat across two ministries.
    const dm = await step("Alice opens a DM with Chloé", async () => {
        const { room_id } = await alice.createRoom({ preset: "trusted_private_chat", is_direct: true, invite: [chloe.getUserId()] });
        await membership(chloe, room_id, "invite");
        await chloe.joinRoom(room_id);
        await membership(chloe, room_id, "join");
        return room_id;
    });
    await step("the DM is encrypted", async () => {
        for (const c of [alice, chloe]) {
            if (!(await c.getCrypto().isEncryptionEnabledInRoom(dm))) throw new Error(`${c.getUserId()}: room not encrypted`);
        }
    });
    await step("Alice → Chloé, decrypted", async () => {
        await alice.sendTextMessage(dm, "Bonjour Chloé, message chiffré");
        const ev = await receive(chloe, dm, "Bonjour Chloé, message chiffré");
        if (ev.getWireType() !== "m.room.encrypted" || ev.isDecryptionFailure()) throw new Error(`not an encrypted event: ${ev.getWireType()}`);
    });
    const reply = await step("Chloé → Alice, decrypted", async () => {
        await chloe.sendTextMessage(dm, "Bonjour Alice, bien reçu");
        const ev = await receive(alice, dm, "Bonjour Alice, bien reçu");
        if (ev.getWireType() !== "m.room.encrypted" || ev.isDecryptionFailure()) throw new Error(`not an encrypted event: ${ev.getWireType()}`);
        return ev;
    });

    // 3. Typing and receipts.
    await step("Chloé's typing reaches Alice", async () => {
        const typing = waitFor(alice, sdk.RoomMemberEvent.Typing, (_e, m) => m.roomId === dm && m.userId === chloe.getUserId() && m.typing, "typing");
        await chloe.sendTyping(dm, true, 10_000);
        await typing;
    });
    await step("Alice's read receipt reaches Chloé", async () => {
        const seen = () => chloe.getRoom(dm).getReadReceiptForUserId(alice.getUserId())?.eventId === reply.getId();
        await alice.sendReadReceipt(reply);
        await until(chloe, seen, "receipt");
    });

    await step("a thread reply counts in its thread; a threaded receipt clears it", async () => {
        const as = (who, method, path, body) => api(who.getAccessToken(), method, path, body);
        const { room_id } = await alice.createRoom({ preset: "public_chat", name: "Fils" });
        await chloe.joinRoom(room_id);
        const send = (txn, content) => as(chloe, "PUT", `/rooms/${encodeURIComponent(room_id)}/send/m.room.message/${txn}`, content);
        const { event_id: root } = await send("root", { msgtype: "m.text", body: "Sujet" });
        await as(alice, "POST", `/rooms/${encodeURIComponent(room_id)}/receipt/m.read/${encodeURIComponent(root)}`, {});
        const { event_id: inThread } = await send("r1", {
            msgtype: "m.text",
            body: "Réponse dans le fil",
            "m.relates_to": { rel_type: "m.thread", event_id: root, is_falling_back: true, "m.in_reply_to": { event_id: root } }
        });
        const counts = () => {
            const room = alice.getRoom(room_id);
            return room ? [room.getRoomUnreadNotificationCount(sdk.NotificationCountType.Total), room.getThreadUnreadNotificationCount(root, sdk.NotificationCountType.Total)] : [];
        };
        await until(alice, () => counts().join() === "0,1", "thread count 1, main 0");
        // A threaded receipt, as Element sends it (raw: no local echo, the
        // SDK learns the counts from the server).
        await as(alice, "POST", `/rooms/${encodeURIComponent(room_id)}/receipt/m.read/${encodeURIComponent(inThread)}`, { thread_id: root });
        await until(alice, () => counts().join() === "0,0", "thread count cleared");
    });

    // 4. History visibility and back-pagination. The others' clients stop
    // meanwhile: their syncs would only compete with the sends for this
    // process's CPU.
    alice.stopClient();
    chloe.stopClient();
    const brunoLogin = await step("sign in bruno.leroy@interieur.gouv.fr", () => ssoLogin("bruno.leroy@interieur.gouv.fr"));
    const salon = await step(`Alice fills a room with ${HISTORY} messages after inviting Bruno`, async () => {
        // Straight HTTP, in order (Alice's client is stopped).
        const as = (method, path, body) => api(alice.getAccessToken(), method, path, body);
        const { room_id } = await as("POST", "/createRoom", {
            preset: "public_chat",
            name: "Historique",
            initial_state: [{ type: "m.room.history_visibility", state_key: "", content: { history_visibility: "invited" } }]
        });
        const send = (txn, body) => as("PUT", `/rooms/${encodeURIComponent(room_id)}/send/m.room.message/${txn}`, { msgtype: "m.text", body });
        await send("before", "avant l'invitation");
        await as("POST", `/rooms/${encodeURIComponent(room_id)}/invite`, { user_id: brunoLogin.user_id });
        for (let i = 0; i < HISTORY; i++) await send(`h${i}`, `n°${i}`);
        return room_id;
    });
    const bruno = await agent("bruno.leroy@interieur.gouv.fr", brunoLogin);
    const bodies = await step("Bruno joins and back-paginates to the start", async () => {
        await membership(bruno, salon, "invite");
        await bruno.joinRoom(salon);
        const room = await membership(bruno, salon, "join");
        const timeline = room.getLiveTimeline();
        let pages = 0;
        while (await bruno.paginateEventTimeline(timeline, { backwards: true, limit: 100 })) {
            if (++pages > 50) throw new Error("pagination does not end");
        }
        log(`Bruno paginated ${pages} pages`);
        return timeline
            .getEvents()
            .filter((ev) => ev.getType() === "m.room.message")
            .map((ev) => ev.getContent().body);
    });
    await step(`Bruno has exactly the ${HISTORY} messages from his invitation on, in order`, async () => {
        if (bodies.includes("avant l'invitation")) throw new Error("a message from before the invitation is visible");
        const want = Array.from({ length: HISTORY }, (_, i) => `n°${i}`);
        if (bodies.length !== want.length || bodies.some((b, i) => b !== want[i])) {
            const firstBad = bodies.findIndex((b, i) => b !== want[i]);
            throw new Error(`got ${bodies.length} messages, first difference at ${firstBad}: ${bodies[firstBad]}`);
        }
    });
    await step("Chloé, never in the room, cannot read it", async () => {
        const err = await api(chloe.getAccessToken(), "GET", `/rooms/${encodeURIComponent(salon)}/messages?dir=b`).catch((e) => e);
        if (!String(err?.message).includes("403") || !String(err.message).includes("M_FORBIDDEN")) throw new Error(`not refused: ${err?.message ?? JSON.stringify(err)}`);
    });
    for (const c of clients) c.stopClient();
}

run(main);
