// Versions of a file, newest (current) first: download any clean one,
// restore an older one (editors). Restoring adds a new current version.
import { useEffect, useState } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Alert } from "@codegouvfr/react-dsfr/Alert";
import { Badge } from "@codegouvfr/react-dsfr/Badge";
import { Button } from "@codegouvfr/react-dsfr/Button";
import { createModal } from "@codegouvfr/react-dsfr/Modal";
import { apiPaths, errorMessage, filesApi, formatDate, formatSize, isDownloadable, type FileNode, type Version } from "../../files/api";
import { ScanBadge } from "./ScanBadge";
import { Loading } from "./TrashView";
import { useLoad } from "./useLoad";

export const versionsModal = createModal({ id: "bureau-files-versions", isOpenedByDefault: false });

type Props = { node: FileNode | null; openKey: number; editable: boolean; onRestored: () => void };

export function VersionsDialog({ node, openKey, editable, onRestored }: Props) {
    const [notice, setNotice] = useState<{ ok: boolean; text: string } | null>(null);
    const { data, error, reload } = useLoad(node ? (signal) => filesApi.versions(node.space_id, node.id, signal) : null, [node, openKey]);
    // Another file's versions are not shown while this one's load.
    const versions = data && node && data.every((v) => v.node_id === node.id) ? data : null;
    useEffect(() => setNotice(null), [node, openKey]);

    const restore = async (v: Version) => {
        if (!node) return;
        setNotice(null);
        try {
            await filesApi.restoreVersion(node.space_id, node.id, v.id);
            setNotice({ ok: true, text: `La version du ${formatDate(v.created_at)} est redevenue la version actuelle.` });
            reload();
            onRestored();
        } catch (err) {
            setNotice({ ok: false, text: errorMessage(err) });
        }
    };

    return (
        <versionsModal.Component title={`Versions de « ${node?.name ?? ""} »`} size="large">
            {notice && <Alert severity={notice.ok ? "success" : "error"} small description={notice.text} className={fr.cx("fr-mb-2w")} />}
            {error && <Alert severity="error" small description={error} />}
            {!versions && !error && <Loading />}
            {versions && versions.length === 0 && <p className="bureau-muted">Aucune version.</p>}
            {versions && versions.length > 0 && node && (
                <ul className="bureau-files__versions" data-testid="versions">
                    {versions.map((v, i) => (
                        <li key={v.id} data-version-id={v.id}>
                            <span className="bureau-files__link-text">
                                <span>
                                    {formatDate(v.created_at)}{" "}
                                    {i === 0 && (
                                        <Badge as="span" small noIcon severity="success">
                                            Actuelle
                                        </Badge>
                                    )}
                                    <ScanBadge scan={v.scan} />
                                </span>
                                <span className="fr-text--xs fr-mb-0 bureau-muted">{formatSize(v.size)}</span>
                            </span>
                            <span className="bureau-files__buttons">
                                {isDownloadable({ kind: "file", scan: v.scan }) && (
                                    <a
                                        className={fr.cx("fr-btn", "fr-btn--tertiary", "fr-btn--sm", "fr-icon-download-line", "fr-btn--icon-left")}
                                        href={apiPaths.versionContent(node.space_id, node.id, v.id)}
                                        download={node.name}
                                    >
                                        Télécharger
                                    </a>
                                )}
                                {editable && i > 0 && v.scan !== "infected" && (
                                    <Button size="small" priority="secondary" iconId="fr-icon-refresh-line" onClick={() => void restore(v)}>
                                        Restaurer
                                    </Button>
                                )}
                            </span>
                        </li>
                    ))}
                </ul>
            )}
        </versionsModal.Component>
    );
}
