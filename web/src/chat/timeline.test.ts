import { describe, expect, it } from "vitest";
import { countUnread, dayLabel, formatListTime, groupMessages, previewText, readByText, typingText, type Msg } from "./timeline";

const at = (y: number, mo: number, d: number, h: number, mi: number) => new Date(y, mo - 1, d, h, mi).getTime();
const NOW = at(2025, 3, 12, 15, 0);
const msg = (id: string, sender: string, ts: number, kind: Msg["kind"] = "text"): Msg => ({ id, sender, senderName: sender, ts, kind, body: id });

describe("groupMessages", () => {
    it("adds day separators and groups runs of one sender", () => {
        const items = groupMessages(
            [
                msg("a", "@alice", at(2025, 3, 11, 9, 0)),
                msg("b", "@alice", at(2025, 3, 11, 9, 2)),
                msg("c", "@alice", at(2025, 3, 11, 9, 20)),
                msg("d", "@bruno", at(2025, 3, 11, 9, 21)),
                msg("e", "@bruno", at(2025, 3, 12, 8, 0)),
                msg("f", "@bruno", at(2025, 3, 12, 8, 1), "event"),
                msg("g", "@bruno", at(2025, 3, 12, 8, 2))
            ],
            NOW
        );
        expect(items.map((i) => (i.type === "day" ? `[${i.label}]` : `${i.msg.id}${i.groupStart ? "*" : ""}`))).toEqual([
            "[Hier]",
            "a*",
            "b",
            "c*",
            "d*",
            "[Aujourd'hui]",
            "e*",
            "f*",
            "g*"
        ]);
    });
    it("returns nothing for no messages", () => {
        expect(groupMessages([], NOW)).toEqual([]);
    });
});

describe("dates", () => {
    it("labels days in French", () => {
        expect(dayLabel(at(2025, 3, 12, 0, 1), NOW)).toBe("Aujourd'hui");
        expect(dayLabel(at(2025, 3, 11, 23, 59), NOW)).toBe("Hier");
        expect(dayLabel(at(2025, 3, 3, 10, 0), NOW)).toBe("lundi 3 mars 2025");
    });
    it("formats list times", () => {
        expect(formatListTime(at(2025, 3, 12, 9, 5), NOW)).toBe("09:05");
        expect(formatListTime(at(2025, 3, 11, 9, 5), NOW)).toBe("Hier");
        expect(formatListTime(at(2025, 3, 1, 9, 5), NOW)).toBe("01/03");
        expect(formatListTime(0, NOW)).toBe("");
    });
});

describe("unread and texts", () => {
    it("counts messages from others after the read mark", () => {
        const msgs = [msg("a", "@bruno", 10), msg("b", "@alice", 20), msg("c", "@bruno", 30), msg("d", "@bruno", 40, "event"), msg("e", "@bruno", 50, "undecryptable")];
        expect(countUnread(msgs, "@alice", 0)).toBe(3);
        expect(countUnread(msgs, "@alice", 20)).toBe(2);
        expect(countUnread(msgs, "@alice", 50)).toBe(0);
    });
    it("previews the last message", () => {
        expect(previewText({ kind: "text", body: "Bonjour\nBruno", sender: "@a", senderName: "Alice Martin" }, "@b")).toBe("Alice : Bonjour Bruno");
        expect(previewText({ kind: "text", body: "Salut", sender: "@a", senderName: "Alice Martin" }, "@a")).toBe("Vous : Salut");
        expect(previewText({ kind: "undecryptable", body: "x", sender: "@a", senderName: "Alice" }, "@b")).toBe("Alice : Message chiffré");
        expect(previewText(undefined, "@a")).toBe("");
    });
    it("says who is typing and who read", () => {
        expect(typingText([])).toBe("");
        expect(typingText(["Bruno"])).toBe("Bruno écrit…");
        expect(typingText(["Bruno", "Chloé"])).toBe("Bruno et Chloé écrivent…");
        expect(typingText(["a", "b", "c"])).toBe("Plusieurs personnes écrivent…");
        expect(readByText(["Bruno"])).toBe("Lu par Bruno");
        expect(readByText(["a", "b", "c"])).toBe("Lu par 3 personnes");
    });
});
