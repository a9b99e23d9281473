import { fr } from "@codegouvfr/react-dsfr";
import { Button } from "@codegouvfr/react-dsfr/Button";
import {
    apiPaths,
    formatDate,
    formatSize,
    isDownloadable,
    locationPath,
    type FileNode,
    type SortKey,
    type SortOrder
} from "../../files/api";
import { Link } from "../../router";
import { ScanBadge } from "./ScanBadge";

export type NodeAction = "rename" | "move" | "copy" | "delete" | "versions" | "share";

type Props = {
    items: FileNode[];
    sort: SortKey;
    order: SortOrder;
    onSort: (key: SortKey) => void;
    editable: boolean;
    onAction: (action: NodeAction, node: FileNode) => void;
    /** Ids of the selected items; toggle one, or all of the listed ones. */
    selected: Set<string>;
    onSelect: (id: string | "all") => void;
};

const columns: { key: SortKey; label: string; className?: string }[] = [
    { key: "name", label: "Nom" },
    { key: "size", label: "Taille", className: "bureau-files__col-size" },
    { key: "modified", label: "Modifié", className: "bureau-files__col-date" }
];

/** A folder's content: sortable headers, one row per item with its actions. */
export function FolderTable({ items, sort, order, onSort, editable, onAction, selected, onSelect }: Props) {
    const all = items.length > 0 && items.every((n) => selected.has(n.id));
    return (
        <div className={fr.cx("fr-table", "fr-table--no-caption") + " bureau-files__table"}>
            <div className="fr-table__wrapper">
                <div className="fr-table__container">
                    <div className="fr-table__content">
                        <table>
                            <caption>Contenu du dossier</caption>
                            <thead>
                                <tr>
                                    <th scope="col" className="bureau-files__col-select">
                                        <input
                                            type="checkbox"
                                            checked={all}
                                            onChange={() => onSelect("all")}
                                            aria-label={all ? "Tout désélectionner" : "Tout sélectionner"}
                                            data-testid="select-all"
                                        />
                                    </th>
                                    {columns.map((c) => {
                                        const active = sort === c.key;
                                        return (
                                            <th
                                                key={c.key}
                                                scope="col"
                                                className={c.className}
                                                aria-sort={active ? (order === "asc" ? "ascending" : "descending") : "none"}
                                            >
                                                <button type="button" className="bureau-files__sort" onClick={() => onSort(c.key)}>
                                                    {c.label}
                                                    <span
                                                        aria-hidden="true"
                                                        className={fr.cx(
                                                            active && order === "desc" ? "fr-icon-arrow-down-s-line" : "fr-icon-arrow-up-s-line",
                                                            "fr-icon--sm"
                                                        )}
                                                        style={{ opacity: active ? 1 : 0.3 }}
                                                    />
                                                </button>
                                            </th>
                                        );
                                    })}
                                    <th scope="col" className="bureau-files__col-actions">
                                        <span className="fr-sr-only">Actions</span>
                                    </th>
                                </tr>
                            </thead>
                            <tbody>
                                {items.map((n) => (
                                    <Row key={n.id} node={n} editable={editable} onAction={onAction} selected={selected.has(n.id)} onSelect={onSelect} />
                                ))}
                            </tbody>
                        </table>
                    </div>
                </div>
            </div>
        </div>
    );
}

type RowProps = { node: FileNode; editable: boolean; onAction: Props["onAction"]; selected: boolean; onSelect: Props["onSelect"] };

function Row({ node: n, editable, onAction, selected, onSelect }: RowProps) {
    const folder = n.kind === "folder";
    const downloadable = isDownloadable(n);
    return (
        <tr data-node-kind={n.kind} data-node-name={n.name} aria-selected={selected}>
            <td className="bureau-files__col-select">
                <input type="checkbox" checked={selected} onChange={() => onSelect(n.id)} aria-label={`Sélectionner ${n.name}`} />
            </td>
            <td className="bureau-files__name">
                <span
                    className={fr.cx(folder ? "fr-icon-folder-2-fill" : "fr-icon-file-line", "fr-icon--sm", "fr-mr-1w")}
                    aria-hidden="true"
                />
                {folder ? (
                    <Link href={locationPath({ view: "folder", space: n.space_id, folder: n.id })}>{n.name}</Link>
                ) : (
                    <span className="bureau-files__filename">{n.name}</span>
                )}
                <ScanBadge scan={n.scan} />
                <span className="bureau-files__meta">
                    {folder ? "Dossier" : formatSize(n.size)} · {formatDate(n.modified_at)}
                </span>
            </td>
            <td className="bureau-files__col-size">{folder ? "—" : formatSize(n.size)}</td>
            <td className="bureau-files__col-date">{formatDate(n.modified_at)}</td>
            <td className="bureau-files__col-actions">
                <div className="bureau-files__actions">
                    {!folder &&
                        (downloadable ? (
                            <a
                                className={fr.cx("fr-btn", "fr-btn--tertiary-no-outline", "fr-btn--sm", "fr-icon-download-line")}
                                href={apiPaths.content(n.space_id, n.id)}
                                download={n.name}
                                title={`Télécharger ${n.name}`}
                                data-action="download"
                            >
                                Télécharger
                            </a>
                        ) : (
                            <Button
                                iconId="fr-icon-download-line"
                                priority="tertiary no outline"
                                size="small"
                                disabled
                                title={n.scan === "pending" ? "Téléchargement possible après l'analyse antivirus" : "Téléchargement bloqué"}
                            />
                        ))}
                    {folder && (
                        // A plain link: the browser streams the zip to disk itself.
                        <a
                            className={fr.cx("fr-btn", "fr-btn--tertiary-no-outline", "fr-btn--sm", "fr-icon-download-line")}
                            href={apiPaths.zip(n.space_id, n.id)}
                            download={`${n.name}.zip`}
                            title={`Télécharger ${n.name} (zip)`}
                            data-action="zip"
                        >
                            Télécharger (zip)
                        </a>
                    )}
                    {!folder && (
                        <Button
                            iconId="fr-icon-time-line"
                            priority="tertiary no outline"
                            size="small"
                            title={`Versions de ${n.name}`}
                            onClick={() => onAction("versions", n)}
                        />
                    )}
                    {/* Copying needs only reading here: the picker offers the spaces one may add to. */}
                    <Button
                        iconId="ri-file-copy-line"
                        priority="tertiary no outline"
                        size="small"
                        title={`Copier ${n.name} vers…`}
                        onClick={() => onAction("copy", n)}
                    />
                    {editable && (
                        <>
                            <Button
                                iconId="fr-icon-share-line"
                                priority="tertiary no outline"
                                size="small"
                                title={`Partager ${n.name}`}
                                onClick={() => onAction("share", n)}
                            />
                            <Button
                                iconId="fr-icon-edit-line"
                                priority="tertiary no outline"
                                size="small"
                                title={`Renommer ${n.name}`}
                                onClick={() => onAction("rename", n)}
                            />
                            <Button
                                iconId="fr-icon-folder-2-line"
                                priority="tertiary no outline"
                                size="small"
                                title={`Déplacer ${n.name} vers…`}
                                onClick={() => onAction("move", n)}
                            />
                            <Button
                                iconId="fr-icon-delete-line"
                                priority="tertiary no outline"
                                size="small"
                                title={`Supprimer ${n.name}`}
                                onClick={() => onAction("delete", n)}
                            />
                        </>
                    )}
                </div>
            </td>
        </tr>
    );
}
