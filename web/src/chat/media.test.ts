import { describe, expect, it } from "vitest";
import { attachmentOf, decryptAttachment, encryptAttachment, formatSize, mediaErrorMessage } from "./media";

describe("attachment encryption", () => {
    it("round-trips and refuses tampered ciphertext", async () => {
        const plain = new TextEncoder().encode("Note de service — confidentiel".repeat(100));
        const { data, file } = await encryptAttachment(plain.buffer);
        expect(new Uint8Array(data)).not.toEqual(plain);
        expect(file.v).toBe("v2");
        expect(file.key.alg).toBe("A256CTR");
        // The spec's IV: a random nonce, then a 64-bit counter at zero.
        expect(atob(file.iv).slice(8)).toBe("\0".repeat(8));
        expect(new Uint8Array(await decryptAttachment(data, file))).toEqual(plain);
        const bad = new Uint8Array(data.slice(0));
        bad[0] ^= 1;
        await expect(decryptAttachment(bad.buffer, file)).rejects.toThrow(/empreinte/);
    });
});

describe("attachmentOf", () => {
    it("reads images, files and encrypted files", () => {
        expect(attachmentOf({ msgtype: "m.image", body: "p.png", url: "mxc://s/a", info: { mimetype: "image/png", w: 10, h: 5, size: 99 } })).toEqual({
            kind: "image",
            name: "p.png",
            mxc: "mxc://s/a",
            mimetype: "image/png",
            size: 99,
            w: 10,
            h: 5,
            file: undefined
        });
        const file = { url: "mxc://s/b", iv: "x", key: { k: "y" }, hashes: { sha256: "z" } };
        expect(attachmentOf({ msgtype: "m.file", body: "r.pdf", file })?.mxc).toBe("mxc://s/b");
        expect(attachmentOf({ msgtype: "m.text", body: "x", url: "mxc://s/a" })).toBeUndefined();
        expect(attachmentOf({ msgtype: "m.file", body: "x", url: "https://evil/" })).toBeUndefined();
        expect(attachmentOf({ msgtype: "m.file", body: "x", url: "mxc://s/a", info: { size: -1 } })?.size).toBeUndefined();
    });
});

describe("labels", () => {
    it("formats sizes and errors in French", () => {
        expect(formatSize(12)).toBe("12 octets");
        expect(formatSize(340_000)).toBe("340 ko");
        expect(formatSize(1_200_000)).toBe("1,2 Mo");
        expect(mediaErrorMessage(403, "MCS_MEDIA_NOT_CLEAN")).toBe("Fichier bloqué par l'antivirus.");
        expect(mediaErrorMessage(404, "M_NOT_FOUND")).toBe("Fichier introuvable.");
    });
});
