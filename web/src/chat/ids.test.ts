import { describe, expect, it } from "vitest";
import { fallbackName, initials, localpartOf, matrixIdFromEmail, parseChatPath, roomPath, serverNameOf } from "./ids";

describe("matrix ids", () => {
    it("computes an agent's id the Tchap way", () => {
        expect(matrixIdFromEmail("Bruno.Leroy@Interieur.gouv.fr", "bureau.example")).toBe("@bruno.leroy-interieur.gouv.fr:bureau.example");
        expect(matrixIdFromEmail(" jean-pierre@x.fr ", "s:8448")).toBe("@jean-pierre-x.fr:s:8448");
        expect(matrixIdFromEmail("pas-une-adresse", "s")).toBe("");
        expect(matrixIdFromEmail("a@b.fr", "")).toBe("");
    });
    it("splits user ids", () => {
        expect(serverNameOf("@alice.martin-interieur.gouv.fr:127.0.0.1:8080")).toBe("127.0.0.1:8080");
        expect(localpartOf("@alice.martin-interieur.gouv.fr:s")).toBe("alice.martin-interieur.gouv.fr");
        expect(fallbackName("@alice.martin-interieur.gouv.fr:s")).toBe("alice.martin");
        expect(fallbackName("@bot:s")).toBe("bot");
    });
    it("makes initials", () => {
        expect(initials("Alice Martin")).toBe("AM");
        expect(initials("Projet Bureau 2025")).toBe("P2");
        expect(initials("alice.martin")).toBe("AM");
        expect(initials("")).toBe("?");
    });
    it("round-trips room paths", () => {
        const id = "!abc/def:bureau.example";
        expect(roomPath(id)).toBe("/messagerie/!abc%2Fdef%3Abureau.example");
        expect(parseChatPath(roomPath(id))).toBe(id);
        expect(parseChatPath("/messagerie")).toBeNull();
        expect(parseChatPath("/messagerie/")).toBeNull();
        expect(parseChatPath("/messagerie/pas-un-salon")).toBeUndefined();
        expect(parseChatPath("/messagerie/%E0")).toBeUndefined();
        expect(parseChatPath("/fichiers")).toBeUndefined();
    });
});
