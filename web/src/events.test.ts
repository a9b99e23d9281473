import { describe, expect, it } from "vitest";
import { backoffDelay, eventsUrl, toNotification } from "./events";
import { affiliation, loginUrl, type Me } from "./api";

describe("backoffDelay", () => {
    it("doubles from 1s and caps at 30s, with jitter in [cap/2, cap]", () => {
        expect(backoffDelay(0, () => 1)).toBe(1000);
        expect(backoffDelay(0, () => 0)).toBe(500);
        expect(backoffDelay(1, () => 1)).toBe(2000);
        expect(backoffDelay(4, () => 1)).toBe(16000);
        expect(backoffDelay(5, () => 1)).toBe(30000);
        expect(backoffDelay(50, () => 0)).toBe(15000);
    });
});

describe("eventsUrl", () => {
    it("follows the page protocol and passes the last event id", () => {
        expect(eventsUrl({ protocol: "http:", host: "127.0.0.1:8080" }, null)).toBe("ws://127.0.0.1:8080/api/events");
        expect(eventsUrl({ protocol: "https:", host: "bureau.gouv.fr" }, "1700000000000-0")).toBe(
            "wss://bureau.gouv.fr/api/events?last_event_id=1700000000000-0"
        );
    });
});

describe("toNotification", () => {
    it("accepts any event type with data.title", () => {
        const n = toNotification({ id: "1-0", type: "files.added", time: "2024-01-01T00:00:00Z", data: { title: "T", link: "/fichiers/1" } });
        expect(n).toMatchObject({ id: "1-0", title: "T", body: "", link: "/fichiers/1" });
    });
    it("ignores events without a title and drops non-local links", () => {
        expect(toNotification({ id: "2-0", type: "x", data: {} })).toBeNull();
        expect(toNotification({ id: "3-0", type: "x", data: { title: "T", link: "https://evil.example" } })?.link).toBeUndefined();
    });
});

describe("api helpers", () => {
    it("builds login URLs for local paths only", () => {
        expect(loginUrl("/fichiers?x=1")).toBe("/auth/login?redirect=%2Ffichiers%3Fx%3D1");
        expect(loginUrl("//evil.example")).toBe("/auth/login?redirect=%2F");
    });
    it("shows external partners as such", () => {
        const me = { display_name: "A B", ministry: null, external: true } as Me;
        expect(affiliation(me)).toBe("Partenaire externe");
        expect(affiliation({ ...me, external: false, ministry: { id: "i", name: "Ministère" } })).toBe("Ministère");
    });
});
