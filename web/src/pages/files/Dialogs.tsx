// The modal dialogs of a folder: new folder, rename, move, delete. Each
// submits to the service, shows its French message on failure, and calls
// onDone() on success so the page reloads the folder.
import { useEffect, useState, type ReactNode } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Alert } from "@codegouvfr/react-dsfr/Alert";
import { Input } from "@codegouvfr/react-dsfr/Input";
import { createModal } from "@codegouvfr/react-dsfr/Modal";
import { errorMessage, filesApi, nameProblem, type FileNode } from "../../files/api";

export const folderModal = createModal({ id: "bureau-files-new-folder", isOpenedByDefault: false });
export const renameModal = createModal({ id: "bureau-files-rename", isOpenedByDefault: false });
export const moveModal = createModal({ id: "bureau-files-move", isOpenedByDefault: false });
export const deleteModal = createModal({ id: "bureau-files-delete", isOpenedByDefault: false });

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

export function DeleteDialog({ node, onDone }: { node: FileNode | null; onDone: () => void }) {
    const s = useSubmit(deleteModal.close, onDone);
    useEffect(() => s.setError(""), [node]); // eslint-disable-line react-hooks/exhaustive-deps
    return (
        <deleteModal.Component
            title="Mettre à la corbeille ?"
            iconId="fr-icon-delete-line"
            buttons={[
                { children: "Annuler", priority: "secondary" },
                {
                    children: "Mettre à la corbeille",
                    doClosesModal: false,
                    disabled: s.busy || !node,
                    onClick: () => node && void s.run(() => filesApi.remove(node.space_id, node.id))
                }
            ]}
        >
            <p>
                {node?.kind === "folder" ? "Le dossier" : "Le fichier"} « {node?.name} »
                {node?.kind === "folder" ? " et tout son contenu seront placés" : " sera placé"} dans la corbeille de l'espace. Vous
                pourrez {node?.kind === "folder" ? "les" : "le"} restaurer depuis la corbeille.
            </p>
            <ErrorText error={s.error} />
        </deleteModal.Component>
    );
}

/** A simple folder picker: browse the space's folders from the root, then "Déplacer ici". */
export function MoveDialog({ node, onDone }: { node: FileNode | null; onDone: () => void }) {
    const [path, setPath] = useState<{ id: string; name: string }[]>([]);
    const [folders, setFolders] = useState<FileNode[] | null>(null);
    const [loadError, setLoadError] = useState("");
    const s = useSubmit(moveModal.close, onDone);
    const here = path.length ? path[path.length - 1].id : "";

    useEffect(() => {
        setPath([]);
        s.setError("");
        // eslint-disable-next-line react-hooks/exhaustive-deps
    }, [node]);

    useEffect(() => {
        if (!node) return;
        const ctl = new AbortController();
        setFolders(null);
        setLoadError("");
        filesApi
            .list(node.space_id, { parent: here, sort: "name", limit: 1000 }, ctl.signal)
            .then((p) => setFolders(p.items.filter((n) => n.kind === "folder" && n.id !== node.id)))
            .catch((err) => !ctl.signal.aborted && setLoadError(errorMessage(err)));
        return () => ctl.abort();
    }, [node, here]);

    const sameFolder = node !== null && node.parent_id === here;
    return (
        <moveModal.Component
            title={`Déplacer « ${node?.name ?? ""} »`}
            buttons={[
                { children: "Annuler", priority: "secondary" },
                {
                    children: "Déplacer ici",
                    doClosesModal: false,
                    disabled: s.busy || !node || sameFolder,
                    onClick: () => node && void s.run(() => filesApi.place(node.space_id, node.id, { parent: here }))
                }
            ]}
        >
            <p className="fr-text--sm fr-mb-1w">
                Destination :{" "}
                <strong data-testid="move-destination">{["Racine de l'espace", ...path.map((p) => p.name)].join(" › ")}</strong>
            </p>
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
                {folders === null && !loadError && <li className="fr-text--sm">Chargement…</li>}
            </ul>
            <ErrorText error={loadError || s.error} />
        </moveModal.Component>
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
