// The modal dialogs of a folder: new folder, rename, move or copy, delete. Each
// submits to the service, shows its French message on failure, and calls
// onDone() on success so the page reloads the folder.
import { useEffect, useState, type ReactNode } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Alert } from "@codegouvfr/react-dsfr/Alert";
import { Input } from "@codegouvfr/react-dsfr/Input";
import { createModal } from "@codegouvfr/react-dsfr/Modal";
import { Select } from "@codegouvfr/react-dsfr/Select";
import {
    canEdit,
    copyName,
    errorMessage,
    filesApi,
    nameProblem,
    runBatch,
    sortSpaces,
    type BatchFailure,
    type FileNode,
    type Space
} from "../../files/api";

export const folderModal = createModal({ id: "bureau-files-new-folder", isOpenedByDefault: false });
export const renameModal = createModal({ id: "bureau-files-rename", isOpenedByDefault: false });
export const moveModal = createModal({ id: "bureau-files-move", isOpenedByDefault: false });
export const deleteModal = createModal({ id: "bureau-files-delete", isOpenedByDefault: false });
export const copyModal = createModal({ id: "bureau-files-copy", isOpenedByDefault: false });

/** Submission state of a dialog: busy flag, error message, run(). */
function useSubmit(close: () => void, onDone: () => void) {
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState("");
    const run = async (fn: () => Promise<unknown>) => {
        setBusy(true);
        setError("");
        try {
            await fn();
            close();
            onDone();
        } catch (err) {
            setError(errorMessage(err));
        } finally {
            setBusy(false);
        }
    };
    return { busy, error, setError, run };
}

/**
 * Submission of an action on several items, one request each: progress,
 * and each item's failure with the service's message. Closes the dialog
 * when every item succeeded; otherwise stays open on the failures (the
 * folder is reloaded either way: some items may have been done).
 */
function useBatch(close: () => void, onDone: () => void) {
    const [busy, setBusy] = useState(false);
    const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
    const [failures, setFailures] = useState<BatchFailure[]>([]);
    const reset = () => (setFailures([]), setProgress(null));
    const run = async (nodes: FileNode[], op: (n: FileNode) => Promise<unknown>) => {
        setBusy(true);
        setFailures([]);
        const failed = await runBatch(nodes, op, (done, total) => setProgress({ done, total }));
        setBusy(false);
        setProgress(null);
        setFailures(failed);
        if (failed.length === 0) close();
        onDone();
    };
    return { busy, progress, failures, reset, run };
}

/** Progress of a batch, then what failed, item by item. */
function BatchStatus({ b, count }: { b: ReturnType<typeof useBatch>; count: number }) {
    return (
        <>
            {b.progress && b.progress.total > 1 && (
                <div className="fr-mt-2w" role="status" aria-live="polite">
                    <p className="fr-text--sm fr-mb-1v">
                        {b.progress.done} sur {b.progress.total} éléments traités…
                    </p>
                    <progress className="bureau-progress" max={b.progress.total} value={b.progress.done} />
                </div>
            )}
            {b.failures.length > 0 &&
                (count === 1 ? (
                    <ErrorText error={b.failures[0].message} />
                ) : (
                    <Alert
                        severity="error"
                        small
                        className={fr.cx("fr-mt-2w")}
                        description={
                            <>
                                {b.failures.length} sur {count} éléments n'ont pas pu être traités :
                                <ul className="fr-mb-0" data-testid="batch-failures">
                                    {b.failures.map((f, i) => (
                                        <li key={i}>
                                            « {f.name} » : {f.message}
                                        </li>
                                    ))}
                                </ul>
                            </>
                        }
                    />
                ))}
        </>
    );
}

/** « le fichier « a.txt » », « le dossier « B » » or « 3 éléments ». */
function itemsLabel(nodes: FileNode[]): string {
    if (nodes.length === 1) return `${nodes[0].kind === "folder" ? "le dossier" : "le fichier"} « ${nodes[0].name} »`;
    return `${nodes.length} éléments`;
}

function NameForm({ label, value, onChange, error, onSubmit }: { label: string; value: string; onChange: (v: string) => void; error: string; onSubmit: () => void }) {
    return (
        <form
            onSubmit={(e) => {
                e.preventDefault();
                onSubmit();
            }}
        >
            <Input
                label={label}
                state={error ? "error" : "default"}
                stateRelatedMessage={error}
                nativeInputProps={{ value, onChange: (e) => onChange(e.target.value), autoComplete: "off", name: "name" }}
            />
        </form>
    );
}

export function NewFolderDialog({ space, parent, onDone }: { space: string; parent: string; onDone: () => void }) {
    const [name, setName] = useState("");
    const s = useSubmit(folderModal.close, () => {
        setName("");
        onDone();
    });
    const submit = () => {
        const p = nameProblem(name);
        if (p) return s.setError(p);
        void s.run(() => filesApi.createFolder(space, parent, name));
    };
    return (
        <folderModal.Component
            title="Nouveau dossier"
            buttons={[
                { children: "Annuler", priority: "secondary" },
                { children: "Créer", doClosesModal: false, disabled: s.busy, onClick: submit }
            ]}
        >
            <NameForm label="Nom du dossier" value={name} onChange={setName} error={s.error} onSubmit={submit} />
        </folderModal.Component>
    );
}

export function RenameDialog({ node, onDone }: { node: FileNode | null; onDone: () => void }) {
    const [name, setName] = useState("");
    const s = useSubmit(renameModal.close, onDone);
    useEffect(() => {
        setName(node?.name ?? "");
        s.setError("");
        // eslint-disable-next-line react-hooks/exhaustive-deps
    }, [node]);
    const submit = () => {
        if (!node) return;
        const p = nameProblem(name);
        if (p) return s.setError(p);
        if (name === node.name) return renameModal.close();
        void s.run(() => filesApi.place(node.space_id, node.id, { name }));
    };
    return (
        <renameModal.Component
            title="Renommer"
            buttons={[
                { children: "Annuler", priority: "secondary" },
                { children: "Renommer", doClosesModal: false, disabled: s.busy, onClick: submit }
            ]}
        >
            <NameForm label="Nouveau nom" value={name} onChange={setName} error={s.error} onSubmit={submit} />
        </renameModal.Component>
    );
}

export function DeleteDialog({ nodes, onDone }: { nodes: FileNode[]; onDone: () => void }) {
    const b = useBatch(deleteModal.close, onDone);
    useEffect(() => b.reset(), [nodes]); // eslint-disable-line react-hooks/exhaustive-deps
    const what = itemsLabel(nodes);
    return (
        <deleteModal.Component
            title="Mettre à la corbeille ?"
            iconId="fr-icon-delete-line"
            buttons={[
                { children: "Annuler", priority: "secondary" },
                {
                    children: "Mettre à la corbeille",
                    doClosesModal: false,
                    disabled: b.busy || nodes.length === 0,
                    onClick: () => void b.run(nodes, (n) => filesApi.remove(n.space_id, n.id))
                }
            ]}
        >
            <p>
                {what.charAt(0).toUpperCase() + what.slice(1)}
                {nodes.some((n) => n.kind === "folder") ? " (avec le contenu des dossiers)" : ""}
                {nodes.length > 1 ? " seront placés" : " sera placé"} dans la corbeille de l'espace. Vous pourrez {nodes.length > 1 ? "les" : "le"} restaurer depuis la corbeille.
            </p>
            <BatchStatus b={b} count={nodes.length} />
        </deleteModal.Component>
    );
}

/**
 * « Déplacer vers… » and « Copier vers… »: pick a space (those where one may
 * add items), browse its folders from the root, then act there. Moving to
 * another space or copying goes through the service's cross-space rules
 * (editor on both sides, the target's quota; links revoked on a move).
 */
export function TransferDialog({ nodes, mode, onDone }: { nodes: FileNode[]; mode: "move" | "copy"; onDone: () => void }) {
    const node = nodes[0] ?? null;
    const modal = mode === "move" ? moveModal : copyModal;
    const [spaces, setSpaces] = useState<Space[] | null>(null);
    const [space, setSpace] = useState("");
    const [path, setPath] = useState<{ id: string; name: string }[]>([]);
    const [folders, setFolders] = useState<FileNode[] | null>(null);
    const [loadError, setLoadError] = useState("");
    const b = useBatch(modal.close, onDone);
    const here = path.length ? path[path.length - 1].id : "";

    useEffect(() => {
        setPath([]);
        setSpace(node?.space_id ?? "");
        b.reset();
        if (!node) return;
        const ctl = new AbortController();
        filesApi
            .spaces(ctl.signal)
            .then((all) => {
                const ok = sortSpaces(all).filter((sp) => canEdit(sp.role));
                setSpaces(ok);
                // A reader copies out of this space: start from a space they may add to.
                if (!ok.some((sp) => sp.id === node.space_id)) setSpace(ok[0]?.id ?? "");
            })
            .catch((err) => !ctl.signal.aborted && setLoadError(errorMessage(err)));
        return () => ctl.abort();
        // eslint-disable-next-line react-hooks/exhaustive-deps
    }, [nodes]);

    useEffect(() => {
        if (!node || !space) return;
        const ctl = new AbortController();
        setFolders(null);
        setLoadError("");
        filesApi
            .list(space, { parent: here, sort: "name", limit: 1000 }, ctl.signal)
            // A folder cannot go into itself: it is not offered as a destination.
            .then((p) => setFolders(p.items.filter((n) => n.kind === "folder" && !nodes.some((m) => m.id === n.id))))
            .catch((err) => !ctl.signal.aborted && setLoadError(errorMessage(err)));
        return () => ctl.abort();
        // eslint-disable-next-line react-hooks/exhaustive-deps
    }, [nodes, space, here]);

    const sameFolder = node !== null && node.space_id === space && node.parent_id === here;
    const submit = () => {
        if (!node) return;
        if (mode === "copy") {
            // Into its own folder: a duplicate, « nom (copie).ext » (the same name would be name_taken).
            return void b.run(nodes, (n) =>
                filesApi.copy(n.space_id, n.id, sameFolder ? { space, parent: here, name: copyName(n.name, n.kind) } : { space, parent: here })
            );
        }
        void b.run(nodes, (n) => filesApi.place(n.space_id, n.id, n.space_id === space ? { parent: here } : { space, parent: here }));
    };
    const spaceName = spaces?.find((sp) => sp.id === space)?.name ?? "";
    const verb = mode === "move" ? "Déplacer" : "Copier";
    return (
        <modal.Component
            title={nodes.length > 1 ? `${verb} ${nodes.length} éléments` : `${verb} « ${node?.name ?? ""} »`}
            buttons={[
                { children: "Annuler", priority: "secondary" },
                {
                    children: mode === "move" ? "Déplacer ici" : sameFolder ? "Dupliquer ici" : "Copier ici",
                    doClosesModal: false,
                    disabled: b.busy || !node || !space || (mode === "move" && sameFolder),
                    onClick: submit
                }
            ]}
        >
            {spaces && spaces.length > 1 && (
                <Select
                    label="Espace de destination"
                    nativeSelectProps={{
                        value: space,
                        name: "destination-space",
                        onChange: (e) => {
                            setSpace(e.target.value);
                            setPath([]);
                        }
                    }}
                >
                    {spaces.map((sp) => (
                        <option key={sp.id} value={sp.id}>
                            {sp.name}
                        </option>
                    ))}
                </Select>
            )}
            {spaces?.length === 0 && <p className="fr-text--sm bureau-muted">Vous n'avez aucun espace où ajouter des fichiers.</p>}
            <p className="fr-text--sm fr-mb-1w">
                Destination : <strong data-testid={`${mode}-destination`}>{[spaceName || "Racine de l'espace", ...path.map((p) => p.name)].join(" › ")}</strong>
            </p>
            {mode === "move" && node && space !== node.space_id && (
                <p className="fr-text--xs bureau-muted">
                    Les liens de partage sont conservés si vous pouvez gérer les liens de l'espace de destination, sinon révoqués.
                </p>
            )}
            <ul className="bureau-files__picker">
                {path.length > 0 && (
                    <PickerItem icon="fr-icon-arrow-go-back-line" onClick={() => setPath(path.slice(0, -1))}>
                        Dossier parent
                    </PickerItem>
                )}
                {folders?.map((f) => (
                    <PickerItem key={f.id} icon="fr-icon-folder-2-line" onClick={() => setPath([...path, { id: f.id, name: f.name }])}>
                        {f.name}
                    </PickerItem>
                ))}
                {folders?.length === 0 && <li className="fr-text--sm bureau-muted">Aucun sous-dossier.</li>}
                {folders === null && !loadError && space && <li className="fr-text--sm">Chargement…</li>}
            </ul>
            <ErrorText error={loadError} />
            <BatchStatus b={b} count={nodes.length} />
        </modal.Component>
    );
}

function PickerItem({ icon, onClick, children }: { icon: "fr-icon-arrow-go-back-line" | "fr-icon-folder-2-line"; onClick: () => void; children: ReactNode }) {
    return (
        <li>
            <button type="button" className={fr.cx("fr-btn", "fr-btn--tertiary-no-outline", "fr-btn--sm", "fr-btn--icon-left", icon)} onClick={onClick}>
                {children}
            </button>
        </li>
    );
}

function ErrorText({ error }: { error: string }) {
    if (!error) return null;
    return <Alert severity="error" small description={error} className={fr.cx("fr-mt-2w")} />;
}
