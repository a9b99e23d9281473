import { describe, expect, it } from "vitest";
import {
    chatAccess,
    errorText,
    initialMeeting,
    meetingReducer,
    parseFrame,
    parseServerMessage,
    roomIdFromInput,
    tilesFor,
    type MeetingState,
    type ServerMessage
} from "./protocol";
import { parseOfferSections } from "./sdp";

const alice = { id: "pa", user_id: "ua", name: "Alice Martin", role: "host", ministry: "interieur" };
const bruno = { id: "pb", user_id: "ub", name: "Bruno Leroy", role: "participant", ministry: "interieur" };

function msg(o: object): ServerMessage {
    const m = parseServerMessage(JSON.stringify(o));
    if (!m) throw new Error(`unparsed ${JSON.stringify(o)}`);
    return m;
}

function run(...msgs: object[]): MeetingState {
    return msgs.reduce<MeetingState>((s, o) => meetingReducer(s, { type: "message", msg: msg(o) }), initialMeeting);
}

const joined = {
    type: "joined",
    self: alice,
    room: { id: "abcd-efgh-ijkl-mnop", title: "Point hebdo" },
    participants: [bruno],
    published: [{ id: "pb-t1", stream_id: "pb", participant: "pb", kind: "video", source: "camera" }]
};

describe("parseServerMessage", () => {
    it("parses joined with defaults for omitted fields", () => {
        const m = parseServerMessage(JSON.stringify({ ...joined, self: { id: "pa", user_id: "ua", name: "Alice", role: "host" } }));
        expect(m?.type).toBe("joined");
        if (m?.type !== "joined") return;
        expect(m.self.hand).toBe(false);
        expect(m.self.audio_muted).toBe(false);
        expect(m.participants).toHaveLength(1);
        expect(m.published[0].source).toBe("camera");
    });
    it("accepts joined without participants or published (omitted when empty)", () => {
        const m = parseServerMessage(JSON.stringify({ type: "joined", self: alice, room: joined.room }));
        expect(m).toMatchObject({ type: "joined", participants: [], published: [] });
    });
    it("refuses malformed or unknown messages", () => {
        expect(parseServerMessage("not json")).toBeNull();
        expect(parseServerMessage("[]")).toBeNull();
        expect(parseServerMessage(JSON.stringify({ type: "joined" }))).toBeNull();
        expect(parseServerMessage(JSON.stringify({ type: "offer" }))).toBeNull();
        expect(parseServerMessage(JSON.stringify({ type: "mute", participant: "pb", kind: "smell", muted: true }))).toBeNull();
        expect(parseServerMessage(JSON.stringify({ type: "webinar_something_new" }))).toBeNull();
    });
    it("parses candidates, including the end-of-candidates marker", () => {
        expect(msg({ type: "candidate", candidate: { candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", sdpMid: "0", sdpMLineIndex: 0 } })).toEqual({
            type: "candidate",
            candidate: { candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", sdpMid: "0", sdpMLineIndex: 0 }
        });
        expect(msg({ type: "candidate", candidate: { candidate: "" } })).toMatchObject({ candidate: { candidate: "", sdpMid: null } });
    });
    it("parses errors and chat", () => {
        expect(msg({ type: "error", code: "room_full", message: "full" })).toEqual({ type: "error", code: "room_full", message: "full" });
        expect(msg({ type: "chat", participant: "pb", name: "Bruno", text: "Bonjour", ts: 5 })).toMatchObject({ ts: 5 });
    });
});

describe("meetingReducer", () => {
    it("joins with self first", () => {
        const s = run(joined);
        expect(s.phase).toBe("joined");
        expect(s.selfId).toBe("pa");
        expect(s.participants.map((p) => p.id)).toEqual(["pa", "pb"]);
        expect(s.tracks).toHaveLength(1);
    });
    it("tracks participants, mute, hand, and their tracks", () => {
        let s = run(
            joined,
            { type: "participant_joined", member: { id: "pc", user_id: "uc", name: "Chloé", role: "participant" } },
            { type: "mute", participant: "pb", kind: "audio", muted: true },
            { type: "hand", participant: "pc", raised: true },
            { type: "track_published", track_info: { id: "pb-t2", stream_id: "pb", participant: "pb", kind: "video", source: "screen" } }
        );
        expect(s.participants.find((p) => p.id === "pb")?.audio_muted).toBe(true);
        expect(s.participants.find((p) => p.id === "pc")?.hand).toBe(true);
        expect(tilesFor(s).map((t) => t.key)).toEqual(["pb:screen", "pa:camera", "pb:camera", "pc:camera"]);
        s = meetingReducer(s, { type: "message", msg: msg({ type: "track_unpublished", track: "pb-t2", participant: "pb" }) });
        expect(tilesFor(s).map((t) => t.key)).toEqual(["pa:camera", "pb:camera", "pc:camera"]);
        s = meetingReducer(s, { type: "message", msg: msg({ type: "participant_left", participant: "pb" }) });
        expect(s.participants.map((p) => p.id)).toEqual(["pa", "pc"]);
        expect(s.tracks).toHaveLength(0);
    });
    it("handles the lobby for the waiting agent and the host", () => {
        expect(run({ type: "lobby", room: joined.room }).phase).toBe("lobby");
        expect(run({ type: "lobby", room: joined.room }, { type: "denied", room: joined.room }).phase).toBe("denied");
        let host = run(joined, { type: "lobby_request", member: { id: "px", user_id: "ux", name: "Xavier", role: "participant", ministry: "armees" } });
        expect(host.lobby.map((p) => p.id)).toEqual(["px"]);
        host = meetingReducer(host, { type: "message", msg: msg({ type: "lobby_left", participant: "px" }) });
        expect(host.lobby).toEqual([]);
    });
    it("counts unread chat messages from others only when the chat is closed", () => {
        let s = run(joined, { type: "chat", participant: "pb", name: "Bruno Leroy", text: "Bonjour", ts: 1 });
        expect(s.unread).toBe(1);
        s = meetingReducer(s, { type: "message", msg: msg({ type: "chat", participant: "pa", name: "Alice Martin", text: "Salut", ts: 2 }) });
        expect(s.unread).toBe(1);
        expect(s.chat.map((c) => c.mine)).toEqual([false, true]);
        s = meetingReducer(s, { type: "chat_read" });
        expect(s.unread).toBe(0);
        s = meetingReducer(s, { type: "message", msg: msg({ type: "chat", participant: "pb", name: "", text: "Ça va ?", ts: 3 }), chatOpen: true });
        expect(s.unread).toBe(0);
        expect(s.chat[2].name).toBe("Bruno Leroy");
    });
    it("separates fatal errors from warnings", () => {
        const warn = run(joined, { type: "error", code: "forbidden", message: "" });
        expect(warn.phase).toBe("joined");
        expect(warn.notices[0].severity).toBe("warning");
        const fatal = run(joined, { type: "error", code: "room_full", message: "" });
        expect(fatal.phase).toBe("failed");
        expect(fatal.notices[0].text).toMatch(/nombre maximal/);
    });
    it("keeps the chat and drops stale warnings across a reconnection", () => {
        let s = run(joined, { type: "chat", participant: "pb", name: "Bruno", text: "x", ts: 1 }, { type: "error", code: "forbidden", message: "" });
        s = meetingReducer(s, { type: "reconnecting" });
        expect(s.phase).toBe("reconnecting");
        s = meetingReducer(s, { type: "message", msg: msg({ ...joined, self: { ...alice, id: "pa2" } }) });
        expect(s.phase).toBe("joined");
        expect(s.selfId).toBe("pa2");
        expect(s.chat).toHaveLength(1);
        expect(s.notices).toHaveLength(0);
    });
    it("applies local mute and speaking", () => {
        let s = run(joined);
        s = meetingReducer(s, { type: "local_mute", kind: "video", muted: true });
        expect(s.participants[0].video_muted).toBe(true);
        const before = meetingReducer(s, { type: "speaking", participants: ["pb"] });
        expect(before.speaking).toEqual(["pb"]);
        expect(meetingReducer(before, { type: "speaking", participants: ["pb"] })).toBe(before);
    });
});

describe("moderation and webinars (protocol round 2)", () => {
    it("parses the room kind and lock state", () => {
        const s = run({ ...joined, room: { ...joined.room, kind: "webinar", locked: true } });
        expect(s.room).toEqual({ id: "abcd-efgh-ijkl-mnop", title: "Point hebdo", kind: "webinar", locked: true });
        expect(run(joined).room?.kind).toBe("meeting");
    });
    it("applies role changes, lowering the hand of a promoted attendee", () => {
        let s = run({ ...joined, self: { ...alice, role: "attendee" } }, { type: "hand", participant: "pa", raised: true });
        s = meetingReducer(s, { type: "message", msg: msg({ type: "role", participant: "pa", role: "speaker" }) });
        expect(s.participants[0]).toMatchObject({ role: "speaker", hand: false });
        expect(s.notices.at(-1)?.text).toMatch(/Vous avez la parole/);
    });
    it("mutes self when moderated and names who did it", () => {
        const s = run(joined, { type: "moderated", action: "stop_video", by: "pb" });
        expect(s.participants[0].video_muted).toBe(true);
        expect(s.notices.at(-1)?.text).toBe("Bruno Leroy a coupé votre caméra. Vous pouvez la réactiver.");
        expect(parseServerMessage(JSON.stringify({ type: "moderated", action: "remove", by: "pb" }))).toBeNull();
    });
    it("handles lock, removed and ended", () => {
        expect(run(joined, { type: "lock", locked: true, participant: "pa" }).room?.locked).toBe(true);
        expect(run(joined, { type: "removed", by: "pb" }).phase).toBe("removed");
        const ended = run(joined, { type: "ended", by: "pa" });
        expect(ended.phase).toBe("ended");
        expect(meetingReducer(ended, { type: "reconnecting" }).phase).toBe("ended");
    });
    it("follows the webinar chat setting and tells attendees", () => {
        const webinar = { ...joined, room: { ...joined.room, kind: "webinar", webinar_chat: "stage" } };
        let s = run({ ...webinar, self: { ...alice, role: "attendee" } });
        expect(s.room?.webinar_chat).toBe("stage");
        expect(chatAccess(s)).toBe("stage");
        s = run({ ...webinar, self: { ...alice, role: "attendee" } }, { type: "webinar_chat", webinar_chat: "off", participant: "pb" });
        expect(chatAccess(s)).toBe("none");
        expect(s.notices.at(-1)?.text).toBe("Le chat est réservé aux intervenants.");
        const host = run(webinar, { type: "webinar_chat", webinar_chat: "off", participant: "pa" });
        expect(chatAccess(host)).toBe("all");
        expect(host.notices).toHaveLength(0);
        expect(parseServerMessage(JSON.stringify({ type: "webinar_chat", webinar_chat: "nobody" }))).toBeNull();
        expect(errorText("chat_disabled")).toBe("Le chat est réservé aux intervenants.");
    });
    it("shows questions in the chat, flagged", () => {
        const s = run(joined, { type: "question", participant: "pb", name: "Bruno Leroy", text: "Une question ?", ts: 9 });
        expect(s.chat[0]).toMatchObject({ question: true, text: "Une question ?", mine: false });
    });
    it("treats forbidden before joining as fatal (removed agent rejoining)", () => {
        const s = meetingReducer(meetingReducer(initialMeeting, { type: "connecting" }), {
            type: "message",
            msg: msg({ type: "error", code: "forbidden", message: "" })
        });
        expect(s.phase).toBe("failed");
    });
});

describe("roomIdFromInput", () => {
    it("accepts links, paths and ids", () => {
        expect(roomIdFromInput("https://bureau.gouv.fr/visio/abcd-efgh-ijkl-mn23")).toBe("abcd-efgh-ijkl-mn23");
        expect(roomIdFromInput(" /visio/ABCD-efgh-ijkl-mnop/ ")).toBe("abcd-efgh-ijkl-mnop");
        expect(roomIdFromInput("abcd-efgh-ijkl-mnop")).toBe("abcd-efgh-ijkl-mnop");
        expect(roomIdFromInput("http://x/visio/abcd-efgh-ijkl-mnop?x=1#y")).toBe("abcd-efgh-ijkl-mnop");
    });
    it("refuses anything else", () => {
        expect(roomIdFromInput("")).toBeNull();
        expect(roomIdFromInput("abcd")).toBeNull();
        expect(roomIdFromInput("abcd-efgh-ijkl-mno1")).toBeNull(); // 1 is not base32
        expect(roomIdFromInput("https://")).toBeNull();
    });
});

describe("parseOfferSections", () => {
    it("reads mid, kind, direction and msid per m-line", () => {
        const sdp = [
            "v=0",
            "o=- 1 1 IN IP4 0.0.0.0",
            "s=-",
            "t=0 0",
            "a=group:BUNDLE 0 1 2",
            "m=audio 9 UDP/TLS/RTP/SAVPF 111",
            "a=mid:0",
            "a=recvonly",
            "m=video 9 UDP/TLS/RTP/SAVPF 96",
            "a=mid:1",
            "a=msid:pb pb-t1",
            "a=sendonly",
            "m=video 0 UDP/TLS/RTP/SAVPF 96",
            "a=mid:2",
            "a=sendonly",
            ""
        ].join("\r\n");
        expect(parseOfferSections(sdp)).toEqual([
            { mid: "0", kind: "audio", direction: "recvonly", streamId: undefined, trackId: undefined },
            { mid: "1", kind: "video", direction: "sendonly", streamId: "pb", trackId: "pb-t1" },
            { mid: "2", kind: "video", direction: "inactive", streamId: undefined, trackId: undefined }
        ]);
    });
});

describe("sessions: resume, reactions, webinar stage", () => {
    const tok = "A".repeat(43);
    it("reads seq and the resume token", () => {
        const f = parseFrame(JSON.stringify({ seq: 7, ...joined, token: tok, count: 2 }));
        expect(f.seq).toBe(7);
        expect(f.msg).toMatchObject({ type: "joined", token: tok, count: 2 });
        expect(parseFrame(JSON.stringify({ type: "resumed", participant: "pa" }))).toEqual({ seq: 0, msg: { type: "resumed", participant: "pa" } });
        expect(parseFrame(JSON.stringify({ seq: -1, type: "count", count: 3 })).seq).toBe(0);
        expect(parseFrame(JSON.stringify({ seq: 9, type: "answered" }))).toEqual({ seq: 9, msg: { type: "answered" } });
        expect(msg({ type: "lobby", room: joined.room, token: "short", guest_key: tok })).toMatchObject({ token: undefined, guest_key: tok });
    });
    it("keeps the meeting across a resume", () => {
        let s = run(joined);
        s = meetingReducer(s, { type: "reconnecting" });
        expect(s.phase).toBe("reconnecting");
        s = meetingReducer(s, { type: "message", msg: msg({ type: "resumed", participant: "pa" }) });
        expect(s.phase).toBe("joined");
        expect(s.participants.map((p) => p.id)).toEqual(["pa", "pb"]);
        expect(meetingReducer(s, { type: "message", msg: msg({ type: "error", code: "resume_failed", message: "" }) })).toBe(s);
    });
    it("shows a reaction until it expires; refuses unknown emoji", () => {
        expect(parseServerMessage(JSON.stringify({ type: "reaction", participant: "pb", emoji: "💩" }))).toBeNull();
        const s = run(joined, { type: "reaction", participant: "pb", emoji: "👏" });
        expect(s.reactions).toEqual([{ id: expect.any(Number), participant: "pb", emoji: "👏" }]);
        expect(meetingReducer(s, { type: "reaction_expired", id: s.reactions[0].id }).reactions).toEqual([]);
    });
    it("a webinar attendee sees the stage and the count", () => {
        const me = { id: "pc", user_id: "uc", name: "Chloé", role: "attendee" };
        let s = run({ ...joined, self: me, participants: [alice], published: [], count: 40 }, { type: "count", count: 41 });
        expect(s.count).toBe(41);
        const dan = { id: "pd", user_id: "ud", name: "Dan", role: "attendee" };
        s = meetingReducer(s, { type: "message", msg: msg({ type: "role", participant: "pd", role: "speaker", member: { ...dan, role: "speaker" } }) });
        expect(s.participants.map((p) => [p.id, p.role])).toEqual([
            ["pc", "attendee"],
            ["pa", "host"],
            ["pd", "speaker"]
        ]);
        s = meetingReducer(s, { type: "message", msg: msg({ type: "role", participant: "pd", role: "attendee", member: dan }) });
        expect(s.participants.map((p) => p.id)).toEqual(["pc", "pa"]);
    });
    it("explains a rate limit", () => {
        const s = run(joined, { type: "error", code: "rate_limited", message: "" });
        expect(s.phase).toBe("joined");
        expect(s.notices.at(-1)?.text).toMatch(/trop de messages/);
    });
});
