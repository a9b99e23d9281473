// Attachments: what a message's file or image is, the spec's attachment
// encryption for encrypted rooms (AES-CTR-256, EncryptedFile v2, WebCrypto),
// and downloads through authenticated media (the access token goes in an
// Authorization header, so an <img src> cannot be used: the bytes are
// fetched and shown through an object URL).

/** The spec's EncryptedFile (m.image / m.file "file" field). */
export type EncryptedFile = {
    url: string;
    key: { kty: "oct"; key_ops: string[]; alg: "A256CTR"; k: string; ext: true };
    iv: string;
    hashes: { sha256: string };
    v: "v2";
};

export type Attachment = {
    kind: "image" | "file";
    name: string;
    mxc: string;
    mimetype?: string;
    size?: number;
    w?: number;
    h?: number;
    /** Set in encrypted rooms: the bytes at mxc are ciphertext. */
    file?: EncryptedFile;
};

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined);

/** The attachment of an m.image, m.file, m.video or m.audio content, if well formed. */
export function attachmentOf(c: Record<string, unknown>): Attachment | undefined {
    const type = c.msgtype;
    if (type !== "m.image" && type !== "m.file" && type !== "m.video" && type !== "m.audio") return undefined;
    const file = isEncryptedFile(c.file) ? c.file : undefined;
    const mxc = file?.url ?? c.url;
    if (typeof mxc !== "string" || !mxc.startsWith("mxc://")) return undefined;
    const info = (typeof c.info === "object" && c.info !== null ? c.info : {}) as Record<string, unknown>;
    const name = typeof c.filename === "string" && c.filename ? c.filename : typeof c.body === "string" && c.body ? c.body : "fichier";
    return {
        kind: type === "m.image" ? "image" : "file",
        name,
        mxc,
        mimetype: typeof info.mimetype === "string" ? info.mimetype : undefined,
        size: num(info.size),
        w: num(info.w),
        h: num(info.h),
        file
    };
}

function isEncryptedFile(f: unknown): f is EncryptedFile {
    if (typeof f !== "object" || f === null) return false;
    const e = f as Record<string, unknown>;
    const key = e.key as Record<string, unknown> | undefined;
    const hashes = e.hashes as Record<string, unknown> | undefined;
    return typeof e.url === "string" && typeof e.iv === "string" && typeof key?.k === "string" && typeof hashes?.sha256 === "string";
}

/** "1,2 Mo", "340 ko", "12 octets". */
export function formatSize(n: number | undefined): string {
    if (n === undefined) return "";
    if (n < 1000) return `${n} octets`;
    if (n < 1_000_000) return `${Math.round(n / 1000)} ko`;
    return `${(n / 1_000_000).toLocaleString("fr-FR", { maximumFractionDigits: 1 })} Mo`;
}

// ---- encryption (spec: "Sending encrypted attachments") ----

function b64(bytes: Uint8Array, url = false): string {
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    const out = btoa(s).replace(/=+$/, "");
    return url ? out.replace(/\+/g, "-").replace(/\//g, "_") : out;
}

function unb64(s: string): Uint8Array<ArrayBuffer> {
    const std = s.replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(std + "===".slice((std.length + 3) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
}

/** Encrypts data with a fresh key; the result's file lacks only its url. */
export async function encryptAttachment(data: ArrayBuffer): Promise<{ data: ArrayBuffer; file: Omit<EncryptedFile, "url"> }> {
    // 64-bit random nonce, 64-bit counter starting at zero (the spec's IV).
    const iv = new Uint8Array(16);
    crypto.getRandomValues(iv.subarray(0, 8));
    const key = await crypto.subtle.generateKey({ name: "AES-CTR", length: 256 }, true, ["encrypt", "decrypt"]);
    const cipher = await crypto.subtle.encrypt({ name: "AES-CTR", counter: iv, length: 64 }, key, data);
    const jwk = await crypto.subtle.exportKey("jwk", key);
    const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", cipher));
    return {
        data: cipher,
        file: {
            key: { kty: "oct", key_ops: ["encrypt", "decrypt"], alg: "A256CTR", k: jwk.k ?? "", ext: true },
            iv: b64(iv),
            hashes: { sha256: b64(hash) },
            v: "v2"
        }
    };
}

/** Checks the ciphertext's hash, then decrypts it. */
export async function decryptAttachment(data: ArrayBuffer, file: Omit<EncryptedFile, "url">): Promise<ArrayBuffer> {
    const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
    if (b64(hash) !== file.hashes.sha256.replace(/=+$/, "")) throw new Error("Le fichier reçu ne correspond pas à celui envoyé (empreinte différente).");
    const key = await crypto.subtle.importKey(
        "jwk",
        { kty: "oct", k: file.key.k, alg: "A256CTR", ext: true, key_ops: ["encrypt", "decrypt"] },
        { name: "AES-CTR" },
        false,
        ["decrypt"]
    );
    return crypto.subtle.decrypt({ name: "AES-CTR", counter: unb64(file.iv), length: 64 }, key, data);
}

// ---- transfer ----

/** What the media endpoints need of the Matrix client. */
export type MediaClient = {
    mxcUrlToHttp(
        mxc: string,
        width?: number,
        height?: number,
        method?: string,
        allowDirectLinks?: boolean,
        allowRedirects?: boolean,
        useAuthentication?: boolean
    ): string | null;
    getAccessToken(): string | null;
};

/** French message for a failed download, from the server's errcode. */
export function mediaErrorMessage(status: number, errcode: string | undefined): string {
    if (errcode === "MCS_MEDIA_NOT_CLEAN") return "Fichier bloqué par l'antivirus.";
    if (errcode === "M_NOT_YET_UPLOADED") return "Fichier en cours d'analyse antivirus : réessayez dans un instant.";
    if (status === 404) return "Fichier introuvable.";
    return "Le fichier n'a pas pu être chargé.";
}

/** Downloads (and decrypts) an attachment, as a Blob of its type. With
 * preview, an unencrypted image comes as the server's 800×600 thumbnail
 * (encrypted ones can only be fetched whole). */
export async function fetchAttachment(client: MediaClient, a: Attachment, signal?: AbortSignal, preview = false): Promise<Blob> {
    const thumb = preview && !a.file;
    const url = thumb
        ? client.mxcUrlToHttp(a.mxc, 800, 600, "scale", false, true, true)
        : client.mxcUrlToHttp(a.mxc, undefined, undefined, undefined, false, true, true);
    if (!url) throw new Error("Adresse de fichier invalide.");
    const resp = await fetch(url, { headers: { Authorization: `Bearer ${client.getAccessToken() ?? ""}` }, signal });
    if (!resp.ok) {
        const body = (await resp.json().catch(() => ({}))) as { errcode?: string };
        throw new Error(mediaErrorMessage(resp.status, body.errcode));
    }
    let data = await resp.arrayBuffer();
    if (a.file) data = await decryptAttachment(data, a.file);
    const type = thumb ? (resp.headers.get("Content-Type") ?? "") : (a.mimetype ?? "application/octet-stream");
    return new Blob([data], { type });
}
