import { describe, expect, it } from "vitest";
import { chatErrorMessage, clearCredentials, loadCredentials, saveCredentials, ssoRedirectUrl } from "./session";

class MemoryStorage {
    private m = new Map<string, string>();
    getItem(k: string) {
        return this.m.get(k) ?? null;
    }
    setItem(k: string, v: string) {
        this.m.set(k, v);
    }
    removeItem(k: string) {
        this.m.delete(k);
    }
}

describe("session", () => {
    it("stores credentials per Bureau user", () => {
        const s = new MemoryStorage() as unknown as Storage;
        const c = { userId: "@a:s", accessToken: "t", deviceId: "D" };
        saveCredentials("u1", c, s);
        expect(loadCredentials("u1", s)).toEqual(c);
        expect(loadCredentials("u2", s)).toBeNull();
        s.setItem("bureau.chat.session.u3", "{not json");
        expect(loadCredentials("u3", s)).toBeNull();
        clearCredentials("u1", s);
        expect(loadCredentials("u1", s)).toBeNull();
    });
    it("builds the SSO redirect back to the Messagerie", () => {
        expect(ssoRedirectUrl("https://bureau.fr", "/messagerie/!a%3Ab")).toBe(
            "/_matrix/client/v3/login/sso/redirect/proconnect?redirectUrl=" + encodeURIComponent("https://bureau.fr/messagerie/!a%3Ab")
        );
        expect(ssoRedirectUrl("https://bureau.fr", "/ailleurs")).toContain(encodeURIComponent("https://bureau.fr/messagerie"));
    });
    it("explains errors in French", () => {
        expect(chatErrorMessage({ errcode: "M_FORBIDDEN" })).toMatch(/non autorisée/);
        expect(chatErrorMessage({ httpStatus: 502 })).toMatch(/indisponible/);
        expect(chatErrorMessage(null)).toMatch(/inattendue/);
    });
});
