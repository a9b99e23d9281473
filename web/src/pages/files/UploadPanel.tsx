import { useRef, useState, type DragEvent, type ReactNode } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Button } from "@codegouvfr/react-dsfr/Button";
import { formatSize } from "../../files/api";
import { uploads, useUploads, type UploadItem } from "../../files/uploads";

/** The "Déposer des fichiers" button; the input is the e2e test's hook. */
export function UploadButton({ space, parent }: { space: string; parent: string }) {
    const input = useRef<HTMLInputElement>(null);
    return (
        <>
            <input
                ref={input}
                type="file"
                multiple
                hidden
                data-testid="upload-input"
                onChange={(e) => {
                    if (e.target.files?.length) uploads.add(Array.from(e.target.files), space, parent);
                    e.target.value = "";
                }}
            />
            <Button iconId="fr-icon-upload-line" onClick={() => input.current?.click()}>
                Déposer des fichiers
            </Button>
        </>
    );
}

/** Wraps the folder: files dropped anywhere on it are uploaded into it. */
export function DropZone({ space, parent, enabled, children }: { space: string; parent: string; enabled: boolean; children: ReactNode }) {
    const [over, setOver] = useState(false);
    const depth = useRef(0);
    const hasFiles = (e: DragEvent) => enabled && Array.from(e.dataTransfer.types).includes("Files");
    return (
        <div
            className={"bureau-files__drop" + (over ? " bureau-files__drop--over" : "")}
            onDragEnter={(e) => {
                if (!hasFiles(e)) return;
                e.preventDefault();
                depth.current++;
                setOver(true);
            }}
            onDragOver={(e) => {
                if (!hasFiles(e)) return;
                e.preventDefault();
                e.dataTransfer.dropEffect = "copy";
            }}
            onDragLeave={() => {
                if (--depth.current <= 0) {
                    depth.current = 0;
                    setOver(false);
                }
            }}
            onDrop={(e) => {
                if (!hasFiles(e)) return;
                e.preventDefault();
                depth.current = 0;
                setOver(false);
                uploads.add(Array.from(e.dataTransfer.files), space, parent);
            }}
        >
            {children}
            {over && (
                <div className="bureau-files__drop-hint" aria-hidden="true">
                    <span className={fr.cx("fr-icon-upload-line", "fr-mr-1w")} />
                    Déposez les fichiers pour les envoyer dans ce dossier
                </div>
            )}
        </div>
    );
}

const statusText: Record<UploadItem["status"], string> = {
    queued: "En attente",
    uploading: "Envoi en cours",
    paused: "En pause",
    retrying: "Connexion perdue, nouvelle tentative…",
    done: "Envoyé",
    error: "Échec"
};

/** Uploads of this session with progress, pause/resume, cancel. */
export function UploadList() {
    const items = useUploads();
    if (items.length === 0) return null;
    const finished = items.some((i) => i.status === "done");
    return (
        <section className="bureau-files__uploads fr-mb-3w" aria-labelledby="bureau-uploads-title">
            <div className="bureau-files__uploads-head">
                <h2 id="bureau-uploads-title" className="fr-h6 fr-mb-0">
                    Envois
                </h2>
                {finished && (
                    <Button priority="tertiary no outline" size="small" onClick={() => uploads.clearFinished()}>
                        Effacer les envois terminés
                    </Button>
                )}
            </div>
            <ul>
                {items.map((i) => (
                    <UploadRow key={i.id} item={i} />
                ))}
            </ul>
        </section>
    );
}

function UploadRow({ item: i }: { item: UploadItem }) {
    const pct = i.size > 0 ? Math.floor((i.sent / i.size) * 100) : i.status === "done" ? 100 : 0;
    const active = i.status === "uploading" || i.status === "retrying";
    return (
        <li className="bureau-upload" data-upload-status={i.status} data-upload-name={i.name}>
            <div className="bureau-upload__line">
                <span className="bureau-upload__name">{i.name}</span>
                <span className="bureau-upload__pct" data-testid="upload-percent">
                    {pct} %
                </span>
            </div>
            <progress
                className={"bureau-progress" + (i.status === "error" ? " bureau-progress--error" : "")}
                max={100}
                value={pct}
                aria-label={`Envoi de ${i.name}`}
                aria-valuetext={`${pct} %`}
            />
            <div className="bureau-upload__line">
                <span className={"fr-text--xs fr-mb-0" + (i.status === "error" ? " bureau-upload__error" : " bureau-muted")} role={i.status === "error" ? "alert" : undefined}>
                    {i.status === "error" && i.error ? i.error : `${statusText[i.status]} · ${formatSize(i.sent)} / ${formatSize(i.size)}`}
                </span>
                <span className="bureau-upload__buttons">
                    {active && (
                        <Button iconId="fr-icon-pause-circle-line" priority="tertiary no outline" size="small" title={`Mettre en pause ${i.name}`} onClick={() => uploads.pause(i.id)} />
                    )}
                    {(i.status === "paused" || i.status === "error") && (
                        <Button iconId="fr-icon-play-circle-line" priority="tertiary no outline" size="small" title={`Reprendre ${i.name}`} onClick={() => uploads.resume(i.id)} />
                    )}
                    {i.status !== "done" && (
                        <Button iconId="fr-icon-close-line" priority="tertiary no outline" size="small" title={`Annuler ${i.name}`} onClick={() => uploads.cancel(i.id)} />
                    )}
                </span>
            </div>
        </li>
    );
}
