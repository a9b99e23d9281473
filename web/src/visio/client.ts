// Signalling client for the meet service: one websocket and one
// RTCPeerConnection per participant. The server is the only offerer
// (docs/meet-protocol.md): we ask to publish, the server offers receive-only
// m-lines that we fill with our tracks, and offers send-only m-lines for
// everyone else's tracks. We only ever answer.
import {
    parseFrame,
    canPublish,
    type ClientMessage,
    type ModerateAction,
    type Reaction,
    type Role,
    type IceCandidate,
    type ServerMessage,
    type Source,
    type TrackInfo,
    type TrackSpec,
    type WebinarChat
} from "./protocol";
import { parseOfferSections, type SdpSection } from "./sdp";

export type LinkStatus = "connecting" | "open" | "reconnecting" | "closed";

export type ClientHandlers = {
    message: (m: ServerMessage) => void;
    status: (s: LinkStatus) => void;
    /** Remote media changed: re-read remoteStream(). */
    media: () => void;
    speaking: (participants: string[]) => void;
    /** Gave up reconnecting, or could not set up media. */
    failure: (message: string) => void;
};

export type LocalTracks = { microphone?: MediaStreamTrack; camera?: MediaStreamTrack };

const kindOf: Record<Source, "audio" | "video"> = {
    microphone: "audio",
    camera: "video",
    screen: "video",
    screen_audio: "audio"
};

const MAX_RECONNECT_ATTEMPTS = 8;
/** After an ICE restart that did not bring media back, rejoin from scratch. */
const ICE_RESTART_TIMEOUT_MS = 10_000;
/** User actions kept while the socket is down (beyond: dropped, the oldest kept). */
const MAX_OUTBOX = 50;
/** Camera simulcast (rid → downscale, max bitrate): the server forwards each subscriber the layer its tile size and bandwidth allow. */
const SIMULCAST: Record<string, { scale: number; maxBitrate: number }> = {
    q: { scale: 4, maxBitrate: 150_000 },
    h: { scale: 2, maxBitrate: 500_000 },
    f: { scale: 1, maxBitrate: 1_500_000 }
};
const SPEAKING_LEVEL = 0.03;
/** Where a guest's browser keeps the key the server issued (docs/meet.md, guests). */
const GUEST_KEY = "bureau.visio.guest-key";

function storedGuestKey(): string | undefined {
    try {
        const k = localStorage.getItem(GUEST_KEY);
        return k && /^[A-Za-z0-9_-]{43}$/.test(k) ? k : undefined;
    } catch {
        return undefined;
    }
}

export function meetSocketUrl(loc: { protocol: string; host: string }, roomId: string): string {
    const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${loc.host}/api/meet/rooms/${encodeURIComponent(roomId)}/ws`;
}

/** A guest's socket: the guest link's token and the name they typed (docs/meet.md, guest links). */
export function guestSocketUrl(loc: { protocol: string; host: string }, token: string, name: string): string {
    const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${loc.host}/api/meet/guest/${encodeURIComponent(token)}/ws?name=${encodeURIComponent(name)}`;
}

declare global {
    interface Window {
        /** Debugging hook for end-to-end tests (web/e2e/visio.mjs). */
        __visio?: MeetClient;
    }
}

export class MeetClient {
    /** Current peer connection (replaced on reconnection). */
    pc: RTCPeerConnection | null = null;
    selfId: string | null = null;

    private ws: WebSocket | null = null;
    private stopped = false;
    private fatal = false;
    private attempt = 0;
    private retryTimer: ReturnType<typeof setTimeout> | null = null;
    private statsTimer: ReturnType<typeof setInterval> | null = null;
    private chain: Promise<void> = Promise.resolve();

    private local: Partial<Record<Source, MediaStreamTrack>> = {};
    /** Tracks asked for with `publish`, waiting for the offer's m-line. */
    private pending: { source: Source; track: MediaStreamTrack }[] = [];
    /** Tracks whose m-line we answered, sent once the server has the answer (`answered`). */
    private answered: { source: Source; track: MediaStreamTrack; tr: RTCRtpTransceiver }[] = [];
    /** Our sending transceivers, by source. */
    private senders = new Map<Source, RTCRtpTransceiver>();
    private muted = { audio: false, video: false };
    private hand = false;
    private role: Role | undefined;

    /** Tracks the server announced, by track id. */
    private infos = new Map<string, TrackInfo>();
    /** The last offer's m-sections, by mid. */
    private sections = new Map<string, SdpSection>();
    /** Stable MediaStreams handed to <video>/<audio>, by `${participant}:${source}`. */
    private streams = new Map<string, MediaStream>();
    private expectUnsupported = 0;
    private iceRestartTimer: ReturnType<typeof setTimeout> | null = null;
    /** Last size sent with set_quality, by track id. */
    private sizes = new Map<string, string>();
    /** Resume token of our participant (null: the next socket joins anew). */
    private token: string | null = null;
    /** Seq of the last server message applied: replays up to it are skipped. */
    private lastSeq = 0;
    /** Guests: the key that makes us the same guest to the server. */
    private guestKey: string | undefined;
    /** The socket was closed to join again from scratch. */
    private rejoining = false;
    /** The current socket is in the room (joined or resumed; in the lobby, actions are refused anyway). */
    private inRoom = false;
    /** User actions waiting for the socket to be back in the room. */
    private outbox: ClientMessage[] = [];
    private readonly onOnline = () => {
        // A new network: the old socket is likely dead, resume on a new one now.
        if (this.ws && this.token) {
            this.attempt = 0;
            this.ws.close(4001, "network changed");
        }
    };

    constructor(
        readonly roomId: string,
        private readonly on: ClientHandlers,
        /** Overrides the agent's socket (guests). */
        private readonly socketUrl?: string
    ) {
        if (socketUrl) this.guestKey = storedGuestKey();
    }

    start(tracks: LocalTracks, muted: { audio: boolean; video: boolean }) {
        if (tracks.microphone) this.local.microphone = tracks.microphone;
        if (tracks.camera) this.local.camera = tracks.camera;
        this.muted = { ...muted };
        this.stopped = false;
        window.__visio = this;
        window.addEventListener("online", this.onOnline);
        this.open();
    }

    /** Leaves the room for good. */
    leave() {
        if (this.stopped) return;
        this.send({ type: "leave" });
        this.stop();
    }

    stop() {
        this.stopped = true;
        if (this.retryTimer) clearTimeout(this.retryTimer);
        this.retryTimer = null;
        const ws = this.ws;
        this.ws = null;
        if (ws) {
            ws.onclose = ws.onmessage = ws.onerror = ws.onopen = null;
            ws.close(1000);
        }
        this.closePeer();
        this.token = null;
        window.removeEventListener("online", this.onOnline);
        this.on.status("closed");
        if (window.__visio === this) delete window.__visio;
    }

    // ----- actions -------------------------------------------------------

    setMuted(kind: "audio" | "video", muted: boolean) {
        this.muted[kind] = muted;
        const t = kind === "audio" ? this.local.microphone : this.local.camera;
        if (t) t.enabled = !muted;
        this.act({ type: "mute", kind, muted });
    }

    setHand(raised: boolean) {
        this.hand = raised;
        this.act({ type: "hand", raised });
    }

    chat(text: string) {
        this.act({ type: "chat", text });
    }

    admit(participant: string) {
        this.act({ type: "admit", participant });
    }

    deny(participant: string) {
        this.act({ type: "deny", participant });
    }

    moderate(action: ModerateAction, participant: string) {
        this.act({ type: "moderate", action, participant });
    }

    promote(participant: string) {
        this.act({ type: "promote", participant });
    }

    demote(participant: string) {
        this.act({ type: "demote", participant });
    }

    lock(locked: boolean) {
        this.act({ type: "lock", locked });
    }

    /** Webinars (hosts, moderators): who may chat. */
    setWebinarChat(webinar_chat: WebinarChat) {
        this.act({ type: "webinar_chat", webinar_chat });
    }

    /** Ends the meeting for everyone (hosts, moderators). */
    end() {
        this.act({ type: "end" });
    }

    question(text: string) {
        this.act({ type: "question", text });
    }

    react(emoji: Reaction) {
        this.act({ type: "reaction", emoji });
    }

    /** Publishes a screen capture as its own track (source "screen"). */
    async startScreen(track: MediaStreamTrack) {
        this.local.screen = track;
        const existing = this.senders.get("screen");
        if (existing) {
            // The m-line of an earlier share is still ours: reuse it.
            existing.direction = "sendonly";
            await existing.sender.replaceTrack(track);
            return;
        }
        this.pending.push({ source: "screen", track });
        this.send({ type: "publish", tracks: [{ kind: "video", source: "screen" }] });
    }

    async stopScreen() {
        const t = this.local.screen;
        delete this.local.screen;
        this.pending = this.pending.filter((p) => p.source !== "screen");
        t?.stop();
        const tr = this.senders.get("screen");
        if (tr) await tr.sender.replaceTrack(null).catch(() => {});
        const info = [...this.infos.values()].find((i) => i.participant === this.selfId && i.source === "screen");
        if (info) {
            // `unpublish` may not be implemented by the server yet: its
            // `unsupported` answer is expected, not shown.
            this.expectUnsupported++;
            this.send({ type: "unpublish", track: info.id });
        }
    }

    /**
     * The size (CSS pixels × devicePixelRatio) a remote participant's video is
     * rendered at: the server forwards the simulcast layer that fits.
     */
    setRenderedSize(participant: string, source: "camera" | "screen", width: number, height: number) {
        const info = [...this.infos.values()].find((i) => i.participant === participant && i.source === source);
        if (!info || width <= 0 || height <= 0) return;
        const w = Math.min(16384, Math.round(width));
        const h = Math.min(16384, Math.round(height));
        const key = `${w}x${h}`;
        if (this.sizes.get(info.id) === key) return;
        this.sizes.set(info.id, key);
        this.send({ type: "set_quality", track: info.id, width: w, height: h });
    }

    /** The MediaStream to show for a remote participant's source. */
    remoteStream(participant: string, source: "camera" | "screen" | "audio"): MediaStream | null {
        const s = this.streams.get(`${participant}:${source}`);
        return s && s.getTracks().length > 0 ? s : null;
    }

    // ----- websocket -----------------------------------------------------

    private open() {
        this.on.status(this.attempt === 0 ? "connecting" : "reconnecting");
        let ws: WebSocket;
        try {
            ws = new WebSocket(this.socketUrl ?? meetSocketUrl(location, this.roomId));
        } catch {
            this.scheduleReconnect();
            return;
        }
        this.ws = ws;
        this.inRoom = false;
        ws.onopen = () => {
            const guest_key = this.guestKey;
            if (this.token) {
                // Same participant, same PeerConnection: only the socket is new.
                this.send({ type: "resume", token: this.token, seq: this.lastSeq, ...(guest_key ? { guest_key } : {}) });
            } else {
                this.lastSeq = 0;
                this.send({ type: "join", ...(guest_key ? { guest_key } : {}) });
            }
        };
        ws.onmessage = (ev) => {
            if (typeof ev.data !== "string") return;
            const { seq, msg } = parseFrame(ev.data);
            if (seq > 0) {
                if (seq <= this.lastSeq) return; // sent again after a resume: already applied
                this.lastSeq = seq;
            }
            if (!msg) {
                console.warn("visio: ignored message", ev.data.slice(0, 200));
                return;
            }
            this.handle(msg);
        };
        ws.onclose = (ev) => {
            if (this.ws !== ws) return;
            this.ws = null;
            if (this.rejoining) {
                this.rejoining = false;
                this.closePeer();
                this.attempt = 0;
                this.open();
                return;
            }
            if (this.stopped || this.fatal || ev.code === 1000) {
                // A normal close we did not ask for (denied, replaced): nothing to retry.
                this.closePeer();
                this.token = null;
                this.on.status("closed");
                return;
            }
            // Within the server's grace the same participant comes back
            // (resume): the PeerConnection is kept. Without a token, join anew.
            if (!this.token) this.closePeer();
            this.scheduleReconnect();
        };
    }

    /** Leaves and joins again as a new participant (media could not be restored). */
    private rejoin() {
        const ws = this.ws;
        if (!ws) return;
        this.send({ type: "leave" });
        this.token = null;
        this.rejoining = true;
        ws.close(1000);
    }

    private scheduleReconnect() {
        if (this.stopped) return;
        if (this.attempt >= MAX_RECONNECT_ATTEMPTS) {
            this.stopped = true;
            this.on.status("closed");
            this.on.failure("La connexion au service de visioconférence a été perdue. Rechargez la page pour rejoindre la réunion.");
            return;
        }
        this.on.status("reconnecting");
        const delay = Math.min(10_000, 1000 * 2 ** this.attempt) * (0.5 + Math.random() / 2);
        this.attempt++;
        this.retryTimer = setTimeout(() => {
            this.retryTimer = null;
            this.open();
        }, delay);
    }

    private send(m: ClientMessage) {
        if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(m));
    }

    /**
     * Sends what the user did (admit, chat, hand…) or, while the socket is
     * down or not yet back in the room, keeps it for when it is (resumed
     * or joined): a click during « Reconnexion… » is not lost.
     */
    private act(m: ClientMessage) {
        if (this.ws?.readyState === WebSocket.OPEN && this.inRoom) {
            this.send(m);
            return;
        }
        if (this.outbox.length < MAX_OUTBOX) this.outbox.push(m);
    }

    private flushOutbox() {
        this.inRoom = true;
        for (const m of this.outbox.splice(0)) this.send(m);
    }

    private handle(m: ServerMessage) {
        switch (m.type) {
            case "lobby":
                this.attempt = 0;
                this.token = m.token ?? null;
                if (m.guest_key && m.guest_key !== this.guestKey) {
                    this.guestKey = m.guest_key;
                    try {
                        localStorage.setItem(GUEST_KEY, m.guest_key);
                    } catch {
                        // Private mode without storage: a new guest next time.
                    }
                }
                this.on.status("open");
                break;
            case "resumed": {
                this.attempt = 0;
                this.on.status("open");
                this.on.message(m);
                this.flushOutbox();
                // The socket is back; media may have failed meanwhile.
                const pc = this.pc;
                if (pc && (pc.iceConnectionState === "disconnected" || pc.iceConnectionState === "failed")) this.restartIce(pc);
                return;
            }
            case "joined":
                this.attempt = 0;
                this.token = m.token ?? null;
                this.selfId = m.self.id;
                this.role = m.self.role;
                this.infos = new Map(m.published.map((t) => [t.id, t]));
                this.on.status("open");
                this.on.message(m);
                this.afterJoin();
                this.flushOutbox();
                return;
            case "offer":
                this.enqueue(() => this.answer(m.sdp));
                return;
            case "answered":
                this.enqueue(() => this.sendAnswered());
                return;
            case "candidate":
                this.enqueue(() => this.addCandidate(m.candidate));
                return;
            case "track_published":
                this.infos.set(m.track_info.id, m.track_info);
                this.refreshMedia();
                break;
            case "track_unpublished":
                this.infos.delete(m.track);
                this.refreshMedia();
                break;
            case "participant_left":
                for (const [id, t] of this.infos) if (t.participant === m.participant) this.infos.delete(id);
                this.refreshMedia();
                break;
            case "denied":
            case "removed":
            case "ended":
                this.fatal = true;
                break;
            case "moderated": {
                // The server already stopped forwarding: stop sending too.
                const kind = m.action === "mute" ? "audio" : "video";
                this.muted[kind] = true;
                const t = kind === "audio" ? this.local.microphone : this.local.camera;
                if (t) t.enabled = false;
                break;
            }
            case "role":
                if (m.participant === this.selfId) {
                    const before = this.role;
                    this.role = m.role;
                    // Promoted from attendee: publish now. (Demoted: the server ends our tracks.)
                    if (!canPublish(before) && canPublish(m.role)) this.publishLocal();
                }
                break;
            case "error":
                if (m.code === "resume_failed") {
                    // Our participant is gone (grace over, node restarted):
                    // the server closes this socket, the next one joins anew.
                    this.token = null;
                    this.closePeer();
                    break;
                }
                if (m.code === "unsupported" && this.expectUnsupported > 0) {
                    this.expectUnsupported--;
                    return;
                }
                if (
                    ["bad_message", "unknown_type", "bad_sdp", "room_full", "internal", "too_large"].includes(m.code) ||
                    (m.code === "forbidden" && !this.selfId)
                ) {
                    this.fatal = true;
                }
                break;
        }
        this.on.message(m);
    }

    /** Joined (or rejoined): publish our tracks and restore our state. */
    private afterJoin() {
        this.closePeer();
        this.pc = this.newPeer();
        this.senders.clear();
        this.pending = [];
        this.answered = [];
        if (canPublish(this.role)) this.publishLocal();
        if (this.muted.audio) this.send({ type: "mute", kind: "audio", muted: true });
        if (this.muted.video) this.send({ type: "mute", kind: "video", muted: true });
        if (this.hand) this.send({ type: "hand", raised: true });
        this.startStats();
    }

    /** Asks to publish every live local track not already sent. */
    private publishLocal() {
        const specs: TrackSpec[] = [];
        for (const source of ["microphone", "camera", "screen"] as Source[]) {
            const track = this.local[source];
            if (!track || track.readyState === "ended" || this.senders.has(source)) continue;
            if (this.pending.some((p) => p.source === source)) continue;
            this.pending.push({ source, track });
            specs.push(source === "camera" ? { kind: "video", source, simulcast: true } : { kind: kindOf[source], source });
        }
        if (specs.length > 0) this.send({ type: "publish", tracks: specs });
    }

    // ----- WebRTC --------------------------------------------------------

    private newPeer(): RTCPeerConnection {
        const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" });
        pc.onicecandidate = (ev) => {
            if (this.pc !== pc) return;
            const c = ev.candidate;
            const candidate: IceCandidate = c
                ? { candidate: c.candidate, sdpMid: c.sdpMid ?? undefined, sdpMLineIndex: c.sdpMLineIndex ?? undefined }
                : { candidate: "" };
            // The server's parser refuses nulls: omit absent fields.
            if (candidate.sdpMid === undefined) delete candidate.sdpMid;
            if (candidate.sdpMLineIndex === undefined) delete candidate.sdpMLineIndex;
            if (c && c.candidate === "") return; // Chrome's per-m-line end marker
            this.send({ type: "candidate", candidate });
        };
        pc.ontrack = () => this.refreshMedia();
        pc.onconnectionstatechange = () => {
            if (this.pc !== pc) return;
            if (pc.connectionState === "connected") {
                if (this.iceRestartTimer) clearTimeout(this.iceRestartTimer);
                this.iceRestartTimer = null;
            } else if (pc.connectionState === "failed") {
                this.restartIce(pc);
            }
        };
        return pc;
    }

    /**
     * The network changed or dropped: new ICE credentials and candidates on
     * the same connection, the room is kept. If media does not come back,
     * leave and join again from scratch.
     */
    private restartIce(pc: RTCPeerConnection) {
        if (this.iceRestartTimer || this.ws?.readyState !== WebSocket.OPEN) return;
        this.send({ type: "restart_ice" });
        this.iceRestartTimer = setTimeout(() => {
            this.iceRestartTimer = null;
            if (this.pc === pc && pc.connectionState !== "connected") this.rejoin();
        }, ICE_RESTART_TIMEOUT_MS);
    }

    private closePeer() {
        if (this.statsTimer) clearInterval(this.statsTimer);
        this.statsTimer = null;
        if (this.iceRestartTimer) clearTimeout(this.iceRestartTimer);
        this.iceRestartTimer = null;
        this.sizes.clear();
        if (this.pc) {
            this.pc.onicecandidate = this.pc.ontrack = this.pc.onconnectionstatechange = null;
            this.pc.close();
            this.pc = null;
        }
        this.sections.clear();
        this.pendingCandidates = [];
        this.chain = Promise.resolve();
        if (this.streams.size > 0) {
            this.streams.clear();
            this.on.media();
        }
    }

    private enqueue(f: () => Promise<void>) {
        const pc = this.pc;
        this.chain = this.chain.then(async () => {
            if (this.pc !== pc || !pc) return;
            try {
                await f();
            } catch (err) {
                console.error("visio: signalling step failed", err);
                this.on.failure("La négociation audio et vidéo a échoué.");
            }
        });
    }

    private pendingCandidates: RTCIceCandidateInit[] = [];

    private async addCandidate(c: IceCandidate) {
        const pc = this.pc!;
        const init: RTCIceCandidateInit = { candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null };
        if (!pc.remoteDescription) {
            this.pendingCandidates.push(init);
            return;
        }
        if (init.candidate === "") return; // end of candidates
        await pc.addIceCandidate(init);
    }

    private async answer(sdp: string) {
        const pc = this.pc!;
        await pc.setRemoteDescription({ type: "offer", sdp });
        for (const c of this.pendingCandidates.splice(0)) if (c.candidate) await pc.addIceCandidate(c);
        this.sections = new Map(parseOfferSections(sdp).map((s) => [s.mid, s]));

        const used = new Set([...this.senders.values()].map((t) => t.mid));
        for (const [source, tr] of this.senders) {
            // An m-line the server stopped receiving on (unpublished) is no longer ours.
            if (tr.mid && this.sections.get(tr.mid)?.direction === "inactive") this.senders.delete(source);
        }
        for (const tr of pc.getTransceivers()) {
            const sec = tr.mid ? this.sections.get(tr.mid) : undefined;
            if (!sec || used.has(tr.mid)) continue;
            if (sec.direction === "recvonly") {
                // The server wants to receive: our next pending track of that kind.
                const i = this.pending.findIndex((p) => kindOf[p.source] === sec.kind);
                if (i < 0) continue;
                const [p] = this.pending.splice(i, 1);
                tr.direction = "sendonly";
                // The track goes on the sender once the server has our
                // answer (sendAnswered): media sent before would reach an
                // SFU that cannot yet place its simulcast layers.
                this.answered.push({ source: p.source, track: p.track, tr });
                this.senders.set(p.source, tr);
                used.add(tr.mid);
            } else if (sec.direction === "sendonly") {
                tr.direction = "recvonly";
            }
        }
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        this.send({ type: "answer", sdp: pc.localDescription!.sdp });
        this.refreshMedia();
    }

    /** The server applied our answer: the new m-lines' tracks may send. */
    private async sendAnswered() {
        for (const { source, track, tr } of this.answered.splice(0)) {
            // Skipped: a rejoin replaced the transceiver, or the track was
            // stopped meanwhile (a screen share ended before the answer).
            if (this.senders.get(source) !== tr || this.local[source] !== track || tr.currentDirection === "stopped") continue;
            await tr.sender.replaceTrack(track);
            if (source === "camera") await this.layerEncodings(tr.sender);
        }
        this.refreshMedia();
    }

    /**
     * The offer asked for simulcast (a=simulcast:recv q;h;f): the browser
     * created one encoding per rid; give each its size and bitrate.
     */
    private async layerEncodings(sender: RTCRtpSender) {
        const params = sender.getParameters();
        if (!params.encodings || params.encodings.length < 2) return;
        for (const e of params.encodings) {
            const l = e.rid ? SIMULCAST[e.rid] : undefined;
            if (!l) continue;
            e.scaleResolutionDownBy = l.scale;
            e.maxBitrate = l.maxBitrate;
        }
        try {
            await sender.setParameters(params);
        } catch (err) {
            // The browser's defaults (its own downscales) still simulcast.
            console.warn("visio: simulcast parameters refused", err);
        }
    }

    /** Rebuilds the per-participant streams from the receiving transceivers. */
    private refreshMedia() {
        const pc = this.pc;
        if (!pc) return;
        const want = new Map<string, MediaStreamTrack[]>();
        for (const tr of pc.getTransceivers()) {
            if (!tr.mid) continue;
            const sec = this.sections.get(tr.mid);
            if (!sec || sec.direction !== "sendonly" || !sec.trackId) continue;
            const info = this.infos.get(sec.trackId);
            const participant = info?.participant ?? sec.streamId;
            if (!participant || participant === this.selfId) continue;
            const source = info?.source ?? (sec.kind === "audio" ? "microphone" : "camera");
            const key = `${participant}:${source === "camera" || source === "screen" ? source : "audio"}`;
            const list = want.get(key) ?? [];
            list.push(tr.receiver.track);
            want.set(key, list);
        }
        let changed = false;
        for (const [key, s] of this.streams) {
            if (!want.has(key)) {
                this.streams.delete(key);
                changed = true;
            } else {
                for (const t of s.getTracks()) if (!want.get(key)!.includes(t)) (s.removeTrack(t), (changed = true));
            }
        }
        for (const [key, tracks] of want) {
            let s = this.streams.get(key);
            if (!s) {
                s = new MediaStream();
                this.streams.set(key, s);
                changed = true;
            }
            for (const t of tracks) if (!s.getTracks().includes(t)) (s.addTrack(t), (changed = true));
        }
        if (changed) this.on.media();
    }

    /** Who is speaking, from the audio levels in the stats (no server support needed). */
    private startStats() {
        if (this.statsTimer) clearInterval(this.statsTimer);
        this.statsTimer = setInterval(() => void this.pollLevels(), 500);
    }

    private async pollLevels() {
        const pc = this.pc;
        if (!pc || pc.connectionState !== "connected") return;
        let report: RTCStatsReport;
        try {
            report = await pc.getStats();
        } catch {
            return;
        }
        const speaking: string[] = [];
        report.forEach((r: Record<string, unknown>) => {
            const level = typeof r.audioLevel === "number" ? r.audioLevel : 0;
            if (level < SPEAKING_LEVEL) return;
            if (r.type === "media-source" && r.kind === "audio" && !this.muted.audio && this.selfId) {
                speaking.push(this.selfId);
            } else if (r.type === "inbound-rtp" && r.kind === "audio" && typeof r.mid === "string") {
                const sec = this.sections.get(r.mid);
                const p = sec?.trackId ? (this.infos.get(sec.trackId)?.participant ?? sec.streamId) : undefined;
                if (p && !speaking.includes(p)) speaking.push(p);
            }
        });
        if (this.pc === pc) this.on.speaking(speaking.sort());
    }
}
