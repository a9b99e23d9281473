// The Fichiers view: the spaces list (/fichiers), a folder
// (/fichiers/{space}[/{folder}]) or a space's trash (/fichiers/{space}/corbeille).
import { useCallback, useEffect, useRef, useState } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Breadcrumb } from "@codegouvfr/react-dsfr/Breadcrumb";
import { Button } from "@codegouvfr/react-dsfr/Button";
import type { Notification } from "../../events";
import {
    apiPaths,
    canEdit,
    canManage,
    errorMessage,
    filesApi,
    locationPath,
    parseLocation,
    sortSpaces,
    type FileNode,
    type SortKey,
    type SortOrder,
    type Space
} from "../../files/api";
import { uploads } from "../../files/uploads";
import { NotFound } from "../InfoPage";
import { DeleteDialog, NewFolderDialog, RenameDialog, TransferDialog, copyModal, deleteModal, folderModal, moveModal, renameModal } from "./Dialogs";
import { FolderTable, type NodeAction } from "./FolderTable";
import { JournalView } from "./JournalView";
import { QuotaBar, QuotaEditor } from "./QuotaBar";
import { LoadError, SpaceList } from "./SpaceList";
import { FileSearch } from "./Search";
import { ShareDialog, shareModal, type ShareTarget } from "./ShareDialog";
import { Empty, Loading, TrashView } from "./TrashView";
import { DropZone, UploadButton, UploadList } from "./UploadPanel";
import { useLoad } from "./useLoad";
import { VersionsDialog, versionsModal } from "./VersionsDialog";
import "./files.css";

const PAGE = 200;

type Props = { pathname: string; meId: string; email: string; canCreateSpaces: boolean; latest?: Notification };

export function FilesPage({ pathname, meId, email, canCreateSpaces, latest }: Props) {
    const loc = parseLocation(pathname);
    const [reloadKey, setReloadKey] = useState(0);
    const reload = useCallback(() => setReloadKey((k) => k + 1), []);

    // Live: a files notification (scan verdict…) refreshes what is shown.
    const lastSeen = useRef(latest?.id);
    useEffect(() => {
        if (!latest || latest.id === lastSeen.current) return;
        lastSeen.current = latest.id;
        if (latest.type.startsWith("files.") || latest.link?.startsWith("/fichiers")) reload();
    }, [latest, reload]);

    // A finished upload refreshes the folder it went to.
    const here = loc && loc.view === "folder" ? `${loc.space}/${loc.folder}` : "";
    useEffect(() => uploads.onDone((item) => item.space + "/" + item.parent === here && reload()), [here, reload]);

    if (!loc) return <NotFound />;
    if (loc.view === "spaces") return <SpacesView canCreate={canCreateSpaces} email={email} reloadKey={reloadKey} />;
    return (
        <SpaceView
            key={loc.space}
            space={loc.space}
            meId={meId}
            folder={loc.view === "folder" ? loc.folder : null}
            journal={loc.view === "journal"}
            reloadKey={reloadKey}
            reload={reload}
        />
    );
}

function SpacesView({ canCreate, email, reloadKey }: { canCreate: boolean; email: string; reloadKey: number }) {
    const { data: spaces, error, reload } = useLoad((signal) => filesApi.spaces(signal).then(sortSpaces), [reloadKey]);
    // The agent's own quota is secondary: the page shows without it if it fails.
    const { data: myQuota } = useLoad((signal) => filesApi.myQuota(signal), [reloadKey]);
    if (error) return <LoadError message={error} retry={reload} />;
    if (!spaces) return <Loading />;
    return <SpaceList spaces={spaces} canCreate={canCreate} email={email} myQuota={myQuota} />;
}

type Listing = { status: "loading" } | { status: "error"; message: string } | { status: "ok"; items: FileNode[]; total: number };

type SpaceProps = { space: string; meId: string; folder: string | null; journal: boolean; reloadKey: number; reload: () => void };

/** A space: its header, then a folder (folder = id, "" = root), the trash (folder = null) or the journal. */
function SpaceView({ space, meId, folder, journal, reloadKey, reload }: SpaceProps) {
    const [info, setInfo] = useState<Space | null>(null);
    const [chain, setChain] = useState<FileNode[]>([]);
    const [listing, setListing] = useState<Listing>({ status: "loading" });
    const [sort, setSort] = useState<{ key: SortKey; order: SortOrder }>({ key: "name", order: "asc" });
    const [target, setTarget] = useState<FileNode | null>(null);
    // The items an action applies to: one row's, or the selection's.
    const [targets, setTargets] = useState<FileNode[]>([]);
    const [selected, setSelected] = useState<Set<string>>(new Set());
    const [share, setShare] = useState<ShareTarget>({ node: null, tab: "members", key: 0 });
    const [versionsKey, setVersionsKey] = useState(0);
    const [error, setError] = useState("");
    const [searching, setSearching] = useState(false);
    const cache = useRef(new Map<string, FileNode>());
    // A search hit opens a folder: the search closes there.
    useEffect(() => setSearching(false), [folder]);

    useEffect(() => {
        const ctl = new AbortController();
        filesApi
            .space(space, ctl.signal)
            .then(setInfo)
            .catch((err) => !ctl.signal.aborted && setError(errorMessage(err)));
        return () => ctl.abort();
    }, [space, reloadKey]);

    // Breadcrumb: walk up from the folder, using nodes already seen.
    useEffect(() => {
        if (!folder) return setChain([]);
        const ctl = new AbortController();
        (async () => {
            const out: FileNode[] = [];
            for (let id = folder; id && out.length < 200; ) {
                let n = cache.current.get(id);
                if (!n) {
                    n = await filesApi.node(space, id, ctl.signal);
                    cache.current.set(id, n);
                }
                out.unshift(n);
                id = n.parent_id;
            }
            if (!ctl.signal.aborted) setChain(out);
        })().catch((err) => !ctl.signal.aborted && setError(errorMessage(err)));
        return () => ctl.abort();
    }, [space, folder, reloadKey]);

    useEffect(() => {
        if (folder === null) return;
        const ctl = new AbortController();
        setListing((l) => (l.status === "ok" ? l : { status: "loading" }));
        filesApi
            .list(space, { parent: folder, sort: sort.key, order: sort.order, limit: PAGE }, ctl.signal)
            .then((p) => {
                p.items.forEach((n) => n.kind === "folder" && cache.current.set(n.id, n));
                setListing({ status: "ok", items: p.items, total: p.total });
            })
            .catch((err) => !ctl.signal.aborted && setListing({ status: "error", message: errorMessage(err) }));
        return () => ctl.abort();
    }, [space, folder, sort, reloadKey]);

    // Folder changed: show the spinner rather than the previous folder's items.
    useEffect(() => setListing({ status: "loading" }), [space, folder]);
    // The selection keeps only items still listed (moved or deleted ones go).
    useEffect(() => {
        if (folder === null) return setSelected(new Set());
        if (listing.status !== "ok") return;
        setSelected((sel) => {
            const ids = new Set(listing.items.map((n) => n.id));
            const kept = [...sel].filter((id) => ids.has(id));
            return kept.length === sel.size ? sel : new Set(kept);
        });
    }, [listing, folder]);
    const onSelect = (id: string) => {
        if (listing.status !== "ok") return;
        setSelected((sel) => {
            if (id === "all") return listing.items.every((n) => sel.has(n.id)) ? new Set() : new Set(listing.items.map((n) => n.id));
            const next = new Set(sel);
            if (!next.delete(id)) next.add(id);
            return next;
        });
    };
    const selectedNodes = listing.status === "ok" ? listing.items.filter((n) => selected.has(n.id)) : [];
    const onBatch = (action: "move" | "copy" | "delete") => {
        setTargets(selectedNodes);
        ({ move: moveModal, copy: copyModal, delete: deleteModal })[action].open();
    };
    const afterBatch = () => {
        setSelected(new Set());
        reload();
    };

    const loadMore = async () => {
        if (listing.status !== "ok" || folder === null) return;
        try {
            const p = await filesApi.list(space, { parent: folder, sort: sort.key, order: sort.order, limit: PAGE, offset: listing.items.length });
            setListing({ status: "ok", items: [...listing.items, ...p.items], total: p.total });
        } catch (err) {
            setListing({ status: "error", message: errorMessage(err) });
        }
    };

    const openShare = (node: FileNode | null, tab: ShareTarget["tab"]) => {
        setShare((s) => ({ node, tab, key: s.key + 1 }));
        shareModal.open();
    };
    const onAction = (action: NodeAction, node: FileNode) => {
        if (action === "share") return openShare(node, "links");
        setTarget(node);
        setTargets([node]);
        if (action === "versions") setVersionsKey((k) => k + 1);
        ({ rename: renameModal, move: moveModal, copy: copyModal, delete: deleteModal, versions: versionsModal })[action].open();
    };
    const onSort = (key: SortKey) =>
        setSort((s) => ({ key, order: s.key === key && s.order === "asc" ? "desc" : key === "modified" && s.key !== key ? "desc" : "asc" }));

    if (error) return <LoadError message={error} retry={() => (setError(""), reload())} />;
    if (!info) return <Loading />;

    const editable = canEdit(info.role);
    const names = new Map<string, string>([...cache.current.values(), ...(listing.status === "ok" ? listing.items : [])].map((n) => [n.id, n.name]));
    const trash = folder === null && !journal;
    const current = journal ? "Journal" : trash ? "Corbeille" : chain.length ? chain[chain.length - 1].name : info.name;
    const inFolder = folder !== null;
    const segments = [
        { label: "Fichiers", linkProps: { href: "/fichiers" } },
        ...(!inFolder || chain.length ? [{ label: info.name, linkProps: { href: locationPath({ view: "folder", space, folder: "" }) } }] : []),
        ...chain.slice(0, -1).map((n) => ({ label: n.name, linkProps: { href: locationPath({ view: "folder", space, folder: n.id }) } }))
    ];

    return (
        <>
            <Breadcrumb className={fr.cx("fr-mt-0", "fr-mb-2w")} segments={segments} currentPageLabel={current} />
            <div className="bureau-files__toolbar">
                <h1 className="fr-mb-0 bureau-files__title">{current}</h1>
                <div className="bureau-files__toolbar-buttons">
                    {inFolder && editable && <UploadButton space={space} parent={folder} />}
                    {inFolder && editable && (
                        <Button iconId="fr-icon-folder-2-line" priority="secondary" nativeButtonProps={folderModal.buttonProps}>
                            Nouveau dossier
                        </Button>
                    )}
                    {inFolder && (
                        <Button iconId="fr-icon-team-line" priority="secondary" onClick={() => openShare(chain.length ? chain[chain.length - 1] : null, "members")}>
                            Partager
                        </Button>
                    )}
                    {inFolder && (
                        <Button
                            iconId="fr-icon-search-line"
                            priority="tertiary"
                            onClick={() => setSearching((v) => !v)}
                            nativeButtonProps={{ "aria-expanded": searching }}
                        >
                            Rechercher
                        </Button>
                    )}
                    {inFolder && canManage(info.role) && (
                        <Button iconId="fr-icon-article-line" priority="tertiary" linkProps={{ href: locationPath({ view: "journal", space }) }}>
                            Journal
                        </Button>
                    )}
                    {!inFolder ? (
                        <Button iconId="fr-icon-arrow-go-back-line" priority="tertiary" linkProps={{ href: locationPath({ view: "folder", space, folder: "" }) }}>
                            Retour aux fichiers
                        </Button>
                    ) : (
                        <Button iconId="fr-icon-delete-line" priority="tertiary" linkProps={{ href: locationPath({ view: "trash", space }) }}>
                            Corbeille
                        </Button>
                    )}
                </div>
            </div>
            {searching && <FileSearch autoFocus />}
            <QuotaBar space={info} />
            {inFolder && <QuotaEditor space={info} onDone={reload} />}
            {!editable && <p className="fr-text--sm bureau-muted">Vous pouvez consulter et télécharger les fichiers de cet espace, sans les modifier.</p>}
            {inFolder && <UploadList />}
            {folder === null ? (
                journal ? (
                    <JournalView space={space} meId={meId} reloadKey={reloadKey} />
                ) : (
                    <TrashView space={space} editable={editable} reloadKey={reloadKey} />
                )
            ) : (
                <DropZone space={space} parent={folder} enabled={editable}>
                    {listing.status === "loading" && <Loading />}
                    {listing.status === "error" && <LoadError message={listing.message} retry={reload} />}
                    {listing.status === "ok" &&
                        (listing.items.length === 0 ? (
                            <Empty text="Ce dossier est vide">
                                {editable && <p className="fr-text--sm bureau-muted fr-mb-0">Déposez des fichiers ici ou utilisez le bouton « Déposer des fichiers ».</p>}
                            </Empty>
                        ) : (
                            <>
                                {selectedNodes.length > 0 && (
                                    <SelectionBar space={space} nodes={selectedNodes} editable={editable} onBatch={onBatch} onClear={() => setSelected(new Set())} />
                                )}
                                <FolderTable
                                    items={listing.items}
                                    sort={sort.key}
                                    order={sort.order}
                                    onSort={onSort}
                                    editable={editable}
                                    onAction={onAction}
                                    selected={selected}
                                    onSelect={onSelect}
                                />
                                {listing.items.length < listing.total && (
                                    <Button priority="secondary" onClick={() => void loadMore()}>
                                        Afficher plus ({listing.total - listing.items.length} restants)
                                    </Button>
                                )}
                            </>
                        ))}
                </DropZone>
            )}
            {inFolder && (
                <>
                    <ShareDialog space={info} meId={meId} target={share} names={names} />
                    <VersionsDialog node={target} openKey={versionsKey} editable={editable} onRestored={reload} />
                    <TransferDialog nodes={targets} mode="copy" onDone={afterBatch} />
                </>
            )}
            {inFolder && editable && (
                <>
                    <NewFolderDialog space={space} parent={folder} onDone={reload} />
                    <RenameDialog node={target} onDone={reload} />
                    <TransferDialog nodes={targets} mode="move" onDone={afterBatch} />
                    <DeleteDialog nodes={targets} onDone={afterBatch} />
                </>
            )}
        </>
    );
}

/** What can be done with the selected items at once. */
function SelectionBar({
    space,
    nodes,
    editable,
    onBatch,
    onClear
}: {
    space: string;
    nodes: FileNode[];
    editable: boolean;
    onBatch: (action: "move" | "copy" | "delete") => void;
    onClear: () => void;
}) {
    return (
        <div className="bureau-files__selection" role="region" aria-label="Sélection" data-testid="selection-bar">
            <strong>{nodes.length === 1 ? "1 élément sélectionné" : `${nodes.length} éléments sélectionnés`}</strong>
            <div className="bureau-files__toolbar-buttons">
                {/* A plain link: the browser streams the zip to disk itself. */}
                <a
                    className={fr.cx("fr-btn", "fr-btn--secondary", "fr-btn--sm", "fr-icon-download-line", "fr-btn--icon-left")}
                    href={apiPaths.zipSelection(space, nodes.map((n) => n.id))}
                    download
                    data-action="zip-selection"
                >
                    Télécharger (zip)
                </a>
                <Button size="small" priority="secondary" iconId="ri-file-copy-line" onClick={() => onBatch("copy")}>
                    Copier vers…
                </Button>
                {editable && (
                    <>
                        <Button size="small" priority="secondary" iconId="fr-icon-folder-2-line" onClick={() => onBatch("move")}>
                            Déplacer vers…
                        </Button>
                        <Button size="small" priority="secondary" iconId="fr-icon-delete-line" onClick={() => onBatch("delete")}>
                            Supprimer
                        </Button>
                    </>
                )}
                <Button size="small" priority="tertiary no outline" onClick={onClear}>
                    Désélectionner
                </Button>
            </div>
        </div>
    );
}
