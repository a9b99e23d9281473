import { useState } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Alert } from "@codegouvfr/react-dsfr/Alert";
import { Button } from "@codegouvfr/react-dsfr/Button";
import { errorMessage, filesApi, formatDate, formatSize, type FileNode } from "../../files/api";
import { LoadError } from "./SpaceList";
import { useLoad } from "./useLoad";

/** A space's trash, newest first, with "Restaurer" for editors. */
export function TrashView({ space, editable, reloadKey }: { space: string; editable: boolean; reloadKey: number }) {
    const [notice, setNotice] = useState<{ ok: boolean; text: string } | null>(null);
    const { data: items, error, reload } = useLoad(
        (signal) => filesApi.trash(space, signal).then((list) => [...list].sort((a, b) => (b.trashed_at ?? "").localeCompare(a.trashed_at ?? ""))),
        [space, reloadKey]
    );

    const restore = async (n: FileNode) => {
        setNotice(null);
        try {
            await filesApi.restore(space, n.id);
            setNotice({ ok: true, text: `« ${n.name} » a été restauré.` });
            reload();
        } catch (err) {
            setNotice({ ok: false, text: errorMessage(err) });
        }
    };

    if (error) return <LoadError message={error} retry={reload} />;
    if (items === null) return <Loading />;
    return (
        <>
            {notice && <Alert severity={notice.ok ? "success" : "error"} small description={notice.text} className={fr.cx("fr-mb-2w")} closable isClosed={false} onClose={() => setNotice(null)} />}
            {items.length === 0 ? (
                <Empty text="La corbeille est vide" />
            ) : (
                <ul className="bureau-files__trash">
                    {items.map((n) => (
                        <li key={n.id} data-node-name={n.name}>
                            <span className={fr.cx(n.kind === "folder" ? "fr-icon-folder-2-line" : "fr-icon-file-line", "fr-icon--sm", "fr-mr-1w")} aria-hidden="true" />
                            <span className="bureau-files__trash-text">
                                <span className="bureau-files__filename">{n.name}</span>
                                <span className="fr-text--xs fr-mb-0 bureau-muted">
                                    {n.kind === "folder" ? "Dossier" : formatSize(n.size)} · supprimé le {formatDate(n.trashed_at)}
                                </span>
                            </span>
                            {editable && (
                                <Button priority="secondary" size="small" iconId="fr-icon-refresh-line" onClick={() => void restore(n)}>
                                    Restaurer
                                </Button>
                            )}
                        </li>
                    ))}
                </ul>
            )}
        </>
    );
}

export function Loading() {
    return (
        <div className="bureau-loading" role="status" aria-live="polite">
            <span className="bureau-spinner" aria-hidden="true" />
            Chargement…
        </div>
    );
}

export function Empty({ text, children }: { text: string; children?: React.ReactNode }) {
    return (
        <div className="bureau-files__empty" data-testid="empty-state">
            <span className={fr.cx("fr-icon-folder-2-line", "fr-icon--lg")} aria-hidden="true" />
            <p className="fr-mb-1w">{text}</p>
            {children}
        </div>
    );
}
