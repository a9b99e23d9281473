// Live events from the gateway: a WebSocket on /api/events that resumes from
// the last event id it saw and reconnects with exponential backoff + jitter.
import { useCallback, useEffect, useRef, useState } from "react";

export type ConnectionState = "connecting" | "connected" | "disconnected";

export type BureauEvent = {
    id: string;
    type: string;
    time?: string;
    data?: { title?: string; body?: string; link?: string; [k: string]: unknown };
};

export type Notification = {
    id: string;
    type: string;
    time: string;
    title: string;
    body: string;
    link?: string;
};

type Listeners = {
    event: (e: BureauEvent) => void;
    state: (s: ConnectionState) => void;
    resync: () => void;
};

const MIN_DELAY = 1000;
const MAX_DELAY = 30000;

/** Delay before reconnection attempt `attempt` (0-based): 1s, 2s, 4s… capped at 30s, with "equal jitter". */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
    const cap = Math.min(MAX_DELAY, MIN_DELAY * 2 ** Math.min(attempt, 16));
    return Math.round(cap / 2 + random() * (cap / 2));
}

export function eventsUrl(loc: { protocol: string; host: string }, lastEventId: string | null): string {
    const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
    const q = lastEventId ? `?last_event_id=${encodeURIComponent(lastEventId)}` : "";
    return `${scheme}//${loc.host}/api/events${q}`;
}

/** A notification if the event carries a title (any type), else null. */
export function toNotification(e: BureauEvent): Notification | null {
    const title = e.data?.title;
    if (typeof title !== "string" || title === "") return null;
    const body = typeof e.data?.body === "string" ? e.data.body : "";
    const link = typeof e.data?.link === "string" && e.data.link.startsWith("/") ? e.data.link : undefined;
    return { id: e.id, type: e.type, time: e.time ?? new Date().toISOString(), title, body, link };
}

export class EventsClient {
    private ws: WebSocket | null = null;
    private timer: ReturnType<typeof setTimeout> | null = null;
    private attempt = 0;
    private stopped = true;
    private lastEventId: string | null = null;
    private seen = new Set<string>();
    private _state: ConnectionState = "disconnected";
    private listeners: { [K in keyof Listeners]: Set<Listeners[K]> } = {
        event: new Set(),
        state: new Set(),
        resync: new Set()
    };

    get state() {
        return this._state;
    }

    on<K extends keyof Listeners>(kind: K, fn: Listeners[K]): () => void {
        this.listeners[kind].add(fn);
        return () => {
            this.listeners[kind].delete(fn);
        };
    }

    start() {
        if (!this.stopped) return;
        this.stopped = false;
        window.addEventListener("online", this.onOnline);
        this.connect();
    }

    stop() {
        this.stopped = true;
        window.removeEventListener("online", this.onOnline);
        if (this.timer) clearTimeout(this.timer);
        this.timer = null;
        const ws = this.ws;
        this.ws = null;
        ws?.close(1000);
        this.setState("disconnected");
    }

    private onOnline = () => {
        // Network is back: retry now rather than waiting out the backoff.
        if (!this.stopped && this.ws === null) {
            if (this.timer) clearTimeout(this.timer);
            this.timer = null;
            this.attempt = 0;
            this.connect();
        }
    };

    private setState(s: ConnectionState) {
        if (s === this._state) return;
        this._state = s;
        for (const fn of this.listeners.state) fn(s);
    }

    private connect() {
        this.timer = null;
        this.setState("connecting");
        let ws: WebSocket;
        try {
            ws = new WebSocket(eventsUrl(location, this.lastEventId));
        } catch {
            this.scheduleReconnect();
            return;
        }
        this.ws = ws;
        ws.onmessage = (msg) => {
            if (this.ws !== ws) return;
            this.handle(msg.data);
        };
        ws.onclose = () => {
            if (this.ws !== ws) return;
            this.ws = null;
            this.setState("disconnected");
            this.scheduleReconnect();
        };
        // onerror is always followed by onclose.
    }

    private scheduleReconnect() {
        if (this.stopped || this.timer) return;
        const delay = backoffDelay(this.attempt++);
        this.timer = setTimeout(() => this.connect(), delay);
    }

    private handle(raw: unknown) {
        if (typeof raw !== "string") return;
        let msg: BureauEvent & { last_event_id?: string };
        try {
            msg = JSON.parse(raw);
        } catch {
            return;
        }
        if (!msg || typeof msg.type !== "string") return;
        switch (msg.type) {
            case "hello":
                this.attempt = 0;
                if (this.lastEventId === null && msg.last_event_id) this.lastEventId = msg.last_event_id;
                this.setState("connected");
                return;
            case "resync":
                for (const fn of this.listeners.resync) fn();
                return;
        }
        if (typeof msg.id !== "string" || msg.id === "") return;
        this.setState("connected");
        this.lastEventId = msg.id;
        if (this.seen.has(msg.id)) return; // replayed after a reconnection
        this.seen.add(msg.id);
        for (const fn of this.listeners.event) fn(msg);
    }
}

const MAX_KEPT = 50;

export type LiveEvents = {
    state: ConnectionState;
    notifications: Notification[];
    unread: number;
    /** Last notification title, for the aria-live announcement. */
    announcement: string;
    markAllRead: () => void;
};

/** Runs an EventsClient while `enabled` (i.e. signed in) and keeps received notifications. */
export function useLiveEvents(enabled: boolean, onResync: () => void): LiveEvents {
    const [state, setState] = useState<ConnectionState>("disconnected");
    const [notifications, setNotifications] = useState<Notification[]>([]);
    const [unread, setUnread] = useState(0);
    const [announcement, setAnnouncement] = useState("");
    const resyncRef = useRef(onResync);
    resyncRef.current = onResync;

    useEffect(() => {
        if (!enabled) {
            setNotifications([]);
            setUnread(0);
            setAnnouncement("");
            return;
        }
        const client = new EventsClient();
        const offs = [
            client.on("state", setState),
            client.on("resync", () => resyncRef.current()),
            client.on("event", (e) => {
                const n = toNotification(e);
                if (!n) return;
                setNotifications((list) => [n, ...list].slice(0, MAX_KEPT));
                setUnread((u) => u + 1);
                setAnnouncement(`Nouvelle notification : ${n.title}`);
            })
        ];
        client.start();
        return () => {
            offs.forEach((off) => off());
            client.stop();
            setState("disconnected");
        };
    }, [enabled]);

    const markAllRead = useCallback(() => setUnread(0), []);
    return { state, notifications, unread, announcement, markAllRead };
}
