// Files and images in a conversation: the composer's "Joindre un fichier"
// button (upload with progress, encrypted in encrypted rooms) and the
// timeline's image or download link.
import { useEffect, useRef, useState } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Button } from "@codegouvfr/react-dsfr/Button";
import { MsgType, type MatrixClient } from "matrix-js-sdk";
import type { RoomMessageEventContent } from "matrix-js-sdk/lib/@types/events";
import { encryptAttachment, fetchAttachment, formatSize, type Attachment } from "../../chat/media";
import { chatErrorMessage } from "../../chat/session";

type AttachProps = { client: MatrixClient; roomId: string; encrypted: boolean; onError: (m: string) => void; onSent: () => void };

/** Pixel size of an image file, when the browser can decode it. */
async function imageSize(file: File): Promise<{ w: number; h: number } | undefined> {
    if (!file.type.startsWith("image/")) return undefined;
    try {
        const bmp = await createImageBitmap(file);
        const size = { w: bmp.width, h: bmp.height };
        bmp.close();
        return size;
    } catch {
        return undefined;
    }
}

export function AttachButton({ client, roomId, encrypted, onError, onSent }: AttachProps) {
    const input = useRef<HTMLInputElement>(null);
    const [progress, setProgress] = useState<number | null>(null);

    const send = async (file: File) => {
        const max = await client.getMediaConfig().then((c) => c["m.upload.size"]).catch(() => undefined);
        if (max !== undefined && file.size > max) {
            onError(`« ${file.name} » dépasse la taille maximale autorisée (${formatSize(max)}).`);
            return;
        }
        setProgress(0);
        try {
            const dims = await imageSize(file);
            const mimetype = file.type || "application/octet-stream";
            let body: Blob = file;
            let enc: Awaited<ReturnType<typeof encryptAttachment>>["file"] | undefined;
            if (encrypted) {
                const r = await encryptAttachment(await file.arrayBuffer());
                body = new Blob([r.data], { type: "application/octet-stream" });
                enc = r.file;
            }
            const up = await client.uploadContent(body, {
                name: encrypted ? undefined : file.name,
                includeFilename: !encrypted,
                type: encrypted ? "application/octet-stream" : mimetype,
                progressHandler: ({ loaded, total }) => setProgress(total ? Math.round((100 * loaded) / total) : 0)
            });
            const info = { mimetype, size: file.size, ...(dims ?? {}) };
            const content = {
                msgtype: dims ? MsgType.Image : MsgType.File,
                body: file.name,
                filename: file.name,
                info,
                ...(enc ? { file: { ...enc, url: up.content_uri } } : { url: up.content_uri })
            };
            onSent();
            await client.sendMessage(roomId, content as RoomMessageEventContent);
        } catch (err) {
            onError(`L'envoi de « ${file.name} » a échoué : ${chatErrorMessage(err)}`);
        } finally {
            setProgress(null);
        }
    };

    return (
        <>
            <input
                ref={input}
                type="file"
                hidden
                aria-label="Fichier à joindre"
                data-testid="chat-attach-input"
                onChange={(e) => {
                    const f = e.target.files?.[0];
                    e.target.value = "";
                    if (f) void send(f);
                }}
            />
            <Button
                type="button"
                priority="tertiary no outline"
                iconId="fr-icon-attachment-line"
                title="Joindre un fichier"
                disabled={progress !== null}
                onClick={() => input.current?.click()}
            >
                <span className={fr.cx("fr-sr-only")}>Joindre un fichier</span>
            </Button>
            {progress !== null && (
                <span className="bureau-chat__upload" role="status" aria-live="polite">
                    Envoi… {progress} %
                </span>
            )}
        </>
    );
}

/** An image shown in place, or a file's download link. */
export function AttachmentView({ client, att }: { client: MatrixClient; att: Attachment }) {
    const [url, setUrl] = useState<string>();
    const [error, setError] = useState<string>();
    const isImage = att.kind === "image";

    // Keyed by the mxc URI: the timeline rebuilds its message objects at
    // every update, and the image must not be fetched again each time.
    useEffect(() => {
        if (!isImage) return;
        const ctl = new AbortController();
        let objectUrl: string | undefined;
        fetchAttachment(client, att, ctl.signal, true)
            .then((b) => setUrl((objectUrl = URL.createObjectURL(b))))
            .catch((e: Error) => !ctl.signal.aborted && setError(e.message));
        return () => {
            ctl.abort();
            if (objectUrl) URL.revokeObjectURL(objectUrl);
        };
    }, [client, att.mxc, isImage]);

    const download = async () => {
        setError(undefined);
        try {
            const b = await fetchAttachment(client, att);
            const u = URL.createObjectURL(b);
            const a = document.createElement("a");
            a.href = u;
            a.download = att.name;
            a.click();
            setTimeout(() => URL.revokeObjectURL(u), 60_000);
        } catch (e) {
            setError((e as Error).message);
        }
    };

    if (error) return <span className="bureau-chat__file-error">{`${att.name} — ${error}`}</span>;
    if (isImage) {
        if (!url) {
            return (
                <span className="bureau-chat__image is-loading" role="status" style={att.w && att.h ? { aspectRatio: `${att.w} / ${att.h}` } : undefined}>
                    Chargement de l'image…
                </span>
            );
        }
        return (
            <button type="button" className="bureau-chat__image-link" title={`Télécharger « ${att.name} »`} onClick={() => void download()}>
                <img className="bureau-chat__image" src={url} alt={att.name} />
            </button>
        );
    }
    return (
        <button type="button" className={fr.cx("fr-link", "fr-icon-download-line", "fr-link--icon-left")} onClick={() => void download()}>
            {att.name}
            {att.size !== undefined && <span className="bureau-chat__file-size"> ({formatSize(att.size)})</span>}
        </button>
    );
}
