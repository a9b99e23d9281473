import { describe, expect, it } from "vitest";
import { guestToken, normaliseGuestName } from "./guest";
import { guestSocketUrl } from "./client";

describe("guest links", () => {
    it("normalises names as the server does", () => {
        expect(normaliseGuestName("  Jeanne   Dupont ")).toBe("Jeanne Dupont");
        expect(normaliseGuestName("Zoé")).toBe("Zoé");
        for (const bad of ["", "   ", "a\u0000b", "tab\there", "evil\u202eeman", "x".repeat(65)]) {
            expect(normaliseGuestName(bad)).toBeNull();
        }
    });
    it("reads the token from the fragment only when well formed", () => {
        const t = "A".repeat(42) + "_";
        expect(guestToken("#" + t)).toBe(t);
        expect(guestToken("#short")).toBe("");
        expect(guestToken("")).toBe("");
        expect(guestToken("#" + t + "&x=1")).toBe("");
    });
    it("builds the guest socket URL with the name escaped", () => {
        expect(guestSocketUrl({ protocol: "https:", host: "bureau.test" }, "tok", "Jeanne & Co")).toBe(
            "wss://bureau.test/api/meet/guest/tok/ws?name=Jeanne%20%26%20Co"
        );
    });
});
