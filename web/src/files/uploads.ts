// Resumable uploads with tus-js-client: a small store of the uploads in
// progress, shared by the whole view (useUploads). Each file is its own tus
// upload; at most MAX_PARALLEL run at once, the others wait. A dropped
// connection is retried (retryDelays), and a fingerprint kept in
// localStorage lets an interrupted upload resume where the server stopped,
// even after reloading the page and choosing the same file again.
import { useSyncExternalStore } from "react";
import { Upload, type DetailedError } from "tus-js-client";
import { apiPaths, errorFromBody } from "./api";

export type UploadStatus = "queued" | "uploading" | "paused" | "retrying" | "done" | "error";

export type UploadItem = {
    id: string;
    name: string;
    size: number;
    space: string;
    parent: string;
    sent: number;
    status: UploadStatus;
    error?: string;
    /** The service refused it (name, size, rights): retrying the same upload is pointless. */
    refused?: boolean;
    /** Node id of the file once the upload completed. */
    nodeId?: string;
};

const MAX_PARALLEL = 3;
export const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000, 30000, 30000, 60000];

/** Fingerprint for resuming: the same file into the same folder only. */
export function uploadFingerprint(f: { name: string; size: number; lastModified?: number; type?: string }, space: string, parent: string) {
    return ["bureau-tus", space, parent || "-", f.size, f.lastModified ?? 0, encodeURIComponent(f.name)].join("/");
}

/** French message for a failed tus request. */
export function uploadErrorMessage(err: Error | DetailedError): string {
    const res = (err as DetailedError).originalResponse;
    if (res) {
        let body: unknown = null;
        try {
            body = JSON.parse(res.getBody() || "null");
        } catch {
            body = null;
        }
        return errorFromBody(res.getStatus(), body).message;
    }
    return "La connexion au serveur a été perdue. Reprenez l'envoi quand le réseau est revenu.";
}

type Entry = { item: UploadItem; file: File; upload?: Upload };
type Done = (item: UploadItem) => void;

class UploadStore {
    private entries = new Map<string, Entry>();
    private snapshot: UploadItem[] = [];
    private listeners = new Set<() => void>();
    private doneListeners = new Set<Done>();
    private seq = 0;

    constructor() {
        if (typeof window !== "undefined") {
            // Network back: resume what the retries gave up on.
            window.addEventListener("online", () => {
                for (const e of this.entries.values()) {
                    if (e.item.status === "error" && !e.item.refused) this.resume(e.item.id);
                }
            });
        }
    }

    subscribe = (fn: () => void) => {
        this.listeners.add(fn);
        return () => void this.listeners.delete(fn);
    };
    getSnapshot = () => this.snapshot;

    onDone(fn: Done) {
        this.doneListeners.add(fn);
        return () => void this.doneListeners.delete(fn);
    }

    private update(id: string, patch: Partial<UploadItem>) {
        const e = this.entries.get(id);
        if (!e) return;
        e.item = { ...e.item, ...patch };
        this.emit();
    }

    private emit() {
        this.snapshot = [...this.entries.values()].map((e) => e.item);
        for (const fn of this.listeners) fn();
    }

    add(files: Iterable<File>, space: string, parent: string) {
        for (const file of files) {
            const id = `u${++this.seq}`;
            const item: UploadItem = { id, name: file.name, size: file.size, space, parent, sent: 0, status: "queued" };
            this.entries.set(id, { item, file });
        }
        this.emit();
        this.pump();
    }

    /** Starts queued uploads while fewer than MAX_PARALLEL run. */
    private pump() {
        let running = [...this.entries.values()].filter((e) => e.item.status === "uploading" || e.item.status === "retrying").length;
        for (const e of this.entries.values()) {
            if (running >= MAX_PARALLEL) break;
            if (e.item.status !== "queued") continue;
            running++;
            void this.start(e);
        }
    }

    private async start(e: Entry) {
        const { item, file } = e;
        this.update(item.id, { status: "uploading", error: undefined, refused: false });
        if (!e.upload) {
            e.upload = new Upload(file, {
                endpoint: apiPaths.uploads,
                metadata: { space: item.space, parent: item.parent, filename: file.name, filetype: file.type || "application/octet-stream" },
                fingerprint: async () => uploadFingerprint(file, item.space, item.parent),
                retryDelays: RETRY_DELAYS,
                storeFingerprintForResuming: true,
                removeFingerprintOnSuccess: true,
                onShouldRetry: (err, _attempt, _opts) => {
                    const status = err.originalResponse?.getStatus() ?? 0;
                    // Refusals (name, size, rights) will not change by retrying; network errors and 5xx may.
                    const retry = status === 0 || status >= 500 || status === 409 || status === 423 || status === 429;
                    if (retry) this.update(item.id, { status: "retrying" });
                    return retry;
                },
                onProgress: (sent) => {
                    const paused = this.entries.get(item.id)?.item.status === "paused";
                    this.update(item.id, { sent, status: paused ? "paused" : "uploading" });
                },
                onSuccess: ({ lastResponse }) => {
                    const nodeId = lastResponse.getHeader("Bureau-File-Id") || undefined;
                    this.update(item.id, { sent: item.size, status: "done", nodeId });
                    const done = this.entries.get(item.id)?.item;
                    if (done) for (const fn of this.doneListeners) fn(done);
                    this.pump();
                },
                onError: (err) => {
                    const res = (err as DetailedError).originalResponse;
                    const refused = !!res && res.getStatus() >= 400 && res.getStatus() < 500;
                    this.update(item.id, { status: "error", error: uploadErrorMessage(err), refused });
                    this.pump();
                }
            });
            try {
                const previous = await e.upload.findPreviousUploads();
                if (previous.length > 0) e.upload.resumeFromPreviousUpload(previous[0]);
            } catch {
                // No storage: start from scratch.
            }
        }
        e.upload.start();
    }

    pause(id: string) {
        const e = this.entries.get(id);
        if (!e?.upload || (e.item.status !== "uploading" && e.item.status !== "retrying")) return;
        void e.upload.abort(false);
        this.update(id, { status: "paused" });
        this.pump();
    }

    resume(id: string) {
        const e = this.entries.get(id);
        if (!e || (e.item.status !== "paused" && e.item.status !== "error")) return;
        if (e.item.refused) e.upload = undefined; // a refusal: try a new upload
        this.update(id, { status: "queued", error: undefined, refused: false });
        this.pump();
    }

    /** Stops and forgets an upload (terminating it on the server if it started). */
    cancel(id: string) {
        const e = this.entries.get(id);
        if (!e) return;
        if (e.upload && e.item.status !== "done") void e.upload.abort(true).catch(() => {});
        this.entries.delete(id);
        this.emit();
        this.pump();
    }

    clearFinished() {
        for (const [id, e] of this.entries) if (e.item.status === "done") this.entries.delete(id);
        this.emit();
    }
}

export const uploads = new UploadStore();

export function useUploads(): UploadItem[] {
    return useSyncExternalStore(uploads.subscribe, uploads.getSnapshot);
}
