// What the timeline shows, independent of matrix-js-sdk: messages grouped
// by sender and day, French dates, unread counts, typing text. Unit-tested.
import type { Attachment } from "./media";

export type MsgKind = "text" | "notice" | "emote" | "undecryptable" | "event";

export type Msg = {
    id: string;
    sender: string;
    senderName: string;
    ts: number;
    kind: MsgKind;
    body: string;
    /** Local echo not yet acknowledged by the server. */
    pending?: boolean;
    /** Sending failed. */
    failed?: boolean;
    /** A file or an image (body is its name). */
    attachment?: Attachment;
};

export type TimelineItem =
    | { type: "day"; key: string; label: string }
    | { type: "msg"; key: string; msg: Msg; groupStart: boolean };

/** Messages of one sender less than this apart share one header. */
export const GROUP_WINDOW_MS = 5 * 60 * 1000;

function dayKey(ts: number): string {
    const d = new Date(ts);
    return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

function startOfDay(ts: number): number {
    const d = new Date(ts);
    d.setHours(0, 0, 0, 0);
    return d.getTime();
}

/** "Aujourd'hui", "Hier", or "lundi 3 mars 2025". */
export function dayLabel(ts: number, now: number = Date.now()): string {
    const days = Math.round((startOfDay(now) - startOfDay(ts)) / 86_400_000);
    if (days === 0) return "Aujourd'hui";
    if (days === 1) return "Hier";
    return new Intl.DateTimeFormat("fr-FR", { weekday: "long", day: "numeric", month: "long", year: "numeric" }).format(ts);
}

/** "14:05". */
export function formatTime(ts: number): string {
    return new Intl.DateTimeFormat("fr-FR", { hour: "2-digit", minute: "2-digit" }).format(ts);
}

/** Time for the room list: "14:05" today, "Hier", else "03/03". */
export function formatListTime(ts: number, now: number = Date.now()): string {
    if (!(ts > 0) || !Number.isFinite(ts)) return "";
    const label = dayLabel(ts, now);
    if (label === "Aujourd'hui") return formatTime(ts);
    if (label === "Hier") return "Hier";
    return new Intl.DateTimeFormat("fr-FR", { day: "2-digit", month: "2-digit" }).format(ts);
}

/** Day separators, and groupStart on the first message of a run by one sender. */
export function groupMessages(msgs: Msg[], now: number = Date.now()): TimelineItem[] {
    const out: TimelineItem[] = [];
    let lastDay = "";
    let prev: Msg | null = null;
    for (const m of msgs) {
        const dk = dayKey(m.ts);
        if (dk !== lastDay) {
            out.push({ type: "day", key: `day-${dk}`, label: dayLabel(m.ts, now) });
            lastDay = dk;
            prev = null;
        }
        const groupStart =
            !prev || m.kind === "event" || prev.kind === "event" || prev.sender !== m.sender || m.ts - prev.ts > GROUP_WINDOW_MS;
        out.push({ type: "msg", key: m.id, msg: m, groupStart });
        prev = m;
    }
    return out;
}

/** Messages from others after the read mark (a timestamp; 0 = nothing read). */
export function countUnread(msgs: Pick<Msg, "sender" | "ts" | "kind">[], me: string, readTs: number): number {
    let n = 0;
    for (const m of msgs) if (m.sender !== me && m.kind !== "event" && m.ts > readTs) n++;
    return n;
}

/** Text of the last message for the room list. */
export function previewText(m: Pick<Msg, "kind" | "body" | "sender" | "senderName"> | undefined, me: string): string {
    if (!m) return "";
    if (m.kind === "event") return m.body;
    const body = m.kind === "undecryptable" ? "Message chiffré" : m.body.replace(/\s+/g, " ").trim();
    const who = m.sender === me ? "Vous" : m.senderName.split(" ")[0] || m.senderName;
    return m.kind === "emote" ? `* ${m.senderName} ${body}` : `${who} : ${body}`;
}

/** "Alice écrit…", "Alice et Bruno écrivent…", "Plusieurs personnes écrivent…". */
export function typingText(names: string[]): string {
    if (names.length === 0) return "";
    if (names.length === 1) return `${names[0]} écrit…`;
    if (names.length === 2) return `${names[0]} et ${names[1]} écrivent…`;
    return "Plusieurs personnes écrivent…";
}

/** "Lu par Bruno", "Lu par Bruno et Chloé", "Lu par 4 personnes". */
export function readByText(names: string[]): string {
    if (names.length === 0) return "";
    if (names.length === 1) return `Lu par ${names[0]}`;
    if (names.length === 2) return `Lu par ${names[0]} et ${names[1]}`;
    return `Lu par ${names.length} personnes`;
}
