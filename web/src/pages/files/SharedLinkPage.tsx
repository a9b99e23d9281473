// The page a share link opens (/fichiers/lien/{token}), signed in or not:
// a read link shows its file or folder (browse below it, download); a
// « dépôt » link lets anyone deposit files without seeing the folder. A
// password, when the link has one, is asked first and sent as HTTP Basic.
import { useEffect, useRef, useState, type ReactNode } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Alert } from "@codegouvfr/react-dsfr/Alert";
import { Button } from "@codegouvfr/react-dsfr/Button";
import { Input } from "@codegouvfr/react-dsfr/Input";
import {
    apiPaths,
    errorFromBody,
    errorMessage,
    FilesError,
    filesApi,
    formatDate,
    formatSize,
    isDownloadable,
    linkAuth,
    type LinkInfo,
    type PublicNode
} from "../../files/api";
import { ScanBadge } from "./ScanBadge";
import { Empty, Loading } from "./TrashView";
import "./files.css";

type State =
    | { status: "loading" }
    | { status: "password"; error: string }
    | { status: "error"; title: string; message: string }
    | { status: "ok"; info: LinkInfo };

export function SharedLinkPage({ token }: { token: string }) {
    const [password, setPassword] = useState("");
    const [state, setState] = useState<State>({ status: "loading" });
    const [attempt, setAttempt] = useState(0);

    useEffect(() => {
        const ctl = new AbortController();
        filesApi
            .linkInfo(token, password, ctl.signal)
            .then((info) => setState({ status: "ok", info }))
            .catch((err) => {
                if (ctl.signal.aborted) return;
                if (err instanceof FilesError && (err.code === "password_required" || err.code === "wrong_password" || err.code === "too_many_attempts")) {
                    setState({ status: "password", error: err.code === "password_required" ? "" : err.message });
                } else if (err instanceof FilesError && err.status === 410) {
                    setState({ status: "error", title: "Ce lien a expiré", message: "Demandez un nouveau lien à la personne qui vous l'a envoyé." });
                } else if (err instanceof FilesError && err.status === 404) {
                    setState({ status: "error", title: "Lien introuvable", message: "Ce lien n'existe pas ou a été révoqué." });
                } else {
                    setState({ status: "error", title: "Impossible d'ouvrir ce lien", message: errorMessage(err) });
                }
            });
        return () => ctl.abort();
        // eslint-disable-next-line react-hooks/exhaustive-deps
    }, [token, attempt]);

    return (
        <div className="bureau-files__shared">
            <h1 className="fr-h2">Fichiers partagés</h1>
            {state.status === "loading" && <Loading />}
            {state.status === "error" && <Alert severity="error" title={state.title} description={state.message} />}
            {state.status === "password" && (
                <form
                    className="bureau-files__password"
                    onSubmit={(e) => {
                        e.preventDefault();
                        setState({ status: "loading" });
                        setAttempt((a) => a + 1);
                    }}
                >
                    <p>Ce lien est protégé par un mot de passe.</p>
                    <Input
                        label="Mot de passe du lien"
                        state={state.error ? "error" : "default"}
                        stateRelatedMessage={state.error}
                        nativeInputProps={{ type: "password", value: password, onChange: (e) => setPassword(e.target.value), autoFocus: true, name: "link-password" }}
                    />
                    <Button type="submit">Ouvrir</Button>
                </form>
            )}
            {state.status === "ok" &&
                (state.info.kind === "upload" ? (
                    <DepositView token={token} password={password} info={state.info} />
                ) : (
                    <ReadView token={token} password={password} info={state.info} />
                ))}
        </div>
    );
}

function ReadView({ token, password, info }: { token: string; password: string; info: LinkInfo }) {
    const root = info.node;
    const [path, setPath] = useState<PublicNode[]>([]);
    const [items, setItems] = useState<PublicNode[] | null>(null);
    const [error, setError] = useState("");
    const here = path.length ? path[path.length - 1].id : "";

    useEffect(() => {
        if (root.kind !== "folder") return;
        const ctl = new AbortController();
        setItems(null);
        setError("");
        filesApi
            .linkList(token, here, password, ctl.signal)
            .then((p) => setItems(p.items))
            .catch((err) => !ctl.signal.aborted && setError(errorMessage(err)));
        return () => ctl.abort();
    }, [token, password, here, root.kind]);

    return (
        <>
            {info.expires_at && <p className="fr-text--sm bureau-muted">Lien valable jusqu'au {formatDate(info.expires_at)}.</p>}
            {root.kind === "file" ? (
                <ul className="bureau-files__links" data-testid="shared-items">
                    <SharedFile token={token} password={password} node={root} />
                </ul>
            ) : (
                <>
                    <h2 className="fr-h4" data-testid="shared-folder">
                        <span className={fr.cx("fr-icon-folder-2-line", "fr-mr-1w")} aria-hidden="true" />
                        {[root.name, ...path.map((p) => p.name)].join(" › ")}
                    </h2>
                    <div className="bureau-files__toolbar-buttons fr-mb-2w">
                        {path.length > 0 && (
                            <Button size="small" priority="tertiary" iconId="fr-icon-arrow-go-back-line" onClick={() => setPath(path.slice(0, -1))}>
                                Dossier parent
                            </Button>
                        )}
                        <LinkDownload
                            href={apiPaths.linkZip(token, here)}
                            filename={`${path.length ? path[path.length - 1].name : root.name}.zip`}
                            password={password}
                            action="link-zip"
                            onError={setError}
                        >
                            Télécharger le dossier (zip)
                        </LinkDownload>
                    </div>
                    {error && <Alert severity="error" small description={error} />}
                    {!items && !error && <Loading />}
                    {items && items.length === 0 && <Empty text="Ce dossier est vide" />}
                    {items && items.length > 0 && (
                        <ul className="bureau-files__links" data-testid="shared-items">
                            {items.map((n) =>
                                n.kind === "folder" ? (
                                    <li key={n.id} data-node-name={n.name}>
                                        <span className="bureau-files__link-text">
                                            <button type="button" className={fr.cx("fr-link", "fr-icon-folder-2-line", "fr-link--icon-left")} onClick={() => setPath([...path, n])}>
                                                {n.name}
                                            </button>
                                        </span>
                                    </li>
                                ) : (
                                    <SharedFile key={n.id} token={token} password={password} node={n} />
                                )
                            )}
                        </ul>
                    )}
                </>
            )}
        </>
    );
}

/** A file of a read link. */
function SharedFile({ token, password, node }: { token: string; password: string; node: PublicNode }) {
    const [error, setError] = useState("");
    return (
        <li data-node-name={node.name}>
            <span className="bureau-files__link-text">
                <span>
                    <span className="bureau-files__filename">{node.name}</span>
                    <ScanBadge scan={node.scan} />
                </span>
                <span className="fr-text--xs fr-mb-0 bureau-muted">
                    {formatSize(node.size)} · {formatDate(node.modified_at)}
                </span>
                {error && <span className="fr-text--xs fr-mb-0 bureau-upload__error">{error}</span>}
            </span>
            {isDownloadable(node) && (
                <LinkDownload href={apiPaths.linkContent(token, node.id)} filename={node.name} password={password} action="download" onError={setError}>
                    Télécharger
                </LinkDownload>
            )}
        </li>
    );
}

/**
 * A download through a link: a plain link the browser streams to disk;
 * with a password, through fetch (a plain link cannot send the header).
 */
function LinkDownload({
    href,
    filename,
    password,
    action,
    onError,
    children
}: {
    href: string;
    filename: string;
    password: string;
    action: string;
    onError: (message: string) => void;
    children: ReactNode;
}) {
    const download = async () => {
        onError("");
        try {
            const res = await fetch(href, { headers: linkAuth(password), cache: "no-store" });
            if (!res.ok) throw errorFromBody(res.status, await res.json().catch(() => null));
            const url = URL.createObjectURL(await res.blob());
            const a = document.createElement("a");
            a.href = url;
            a.download = filename;
            a.click();
            setTimeout(() => URL.revokeObjectURL(url), 60_000);
        } catch (err) {
            onError(errorMessage(err));
        }
    };
    if (password) {
        return (
            <Button size="small" priority="secondary" iconId="fr-icon-download-line" onClick={() => void download()} nativeButtonProps={{ "data-action": action }}>
                {children}
            </Button>
        );
    }
    return (
        <a className={fr.cx("fr-btn", "fr-btn--secondary", "fr-btn--sm", "fr-icon-download-line", "fr-btn--icon-left")} href={href} download={filename} data-action={action}>
            {children}
        </a>
    );
}

type Deposit = { id: number; name: string; size: number; sent: number; status: "uploading" | "done" | "error"; error?: string };

/** « Dépôt »: files go into the link's folder with a plain PUT each (progress from XHR). */
function DepositView({ token, password, info }: { token: string; password: string; info: LinkInfo }) {
    const [deposits, setDeposits] = useState<Deposit[]>([]);
    const input = useRef<HTMLInputElement>(null);
    const seq = useRef(0);
    const update = (id: number, patch: Partial<Deposit>) => setDeposits((ds) => ds.map((d) => (d.id === id ? { ...d, ...patch } : d)));

    const send = (file: File) => {
        const id = ++seq.current;
        setDeposits((ds) => [...ds, { id, name: file.name, size: file.size, sent: 0, status: "uploading" }]);
        const xhr = new XMLHttpRequest();
        xhr.open("PUT", apiPaths.linkDeposit(token, file.name));
        for (const [k, v] of Object.entries(linkAuth(password))) xhr.setRequestHeader(k, v);
        xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
        xhr.upload.onprogress = (e) => update(id, { sent: e.loaded });
        xhr.onload = () => {
            if (xhr.status === 201) return update(id, { sent: file.size, status: "done" });
            let body: unknown = null;
            try {
                body = JSON.parse(xhr.responseText);
            } catch {
                body = null;
            }
            update(id, { status: "error", error: errorFromBody(xhr.status, body).message });
        };
        xhr.onerror = () => update(id, { status: "error", error: "La connexion au serveur a été perdue." });
        xhr.send(file);
    };

    return (
        <>
            <p>
                Déposez des fichiers dans le dossier <strong>« {info.node.name} »</strong>. Vous ne voyez pas son contenu ; les fichiers déposés sont analysés par
                l'antivirus.
            </p>
            {info.expires_at && <p className="fr-text--sm bureau-muted">Lien valable jusqu'au {formatDate(info.expires_at)}.</p>}
            <input
                ref={input}
                type="file"
                multiple
                hidden
                data-testid="deposit-input"
                onChange={(e) => {
                    Array.from(e.target.files ?? []).forEach(send);
                    e.target.value = "";
                }}
            />
            <Button iconId="fr-icon-upload-line" onClick={() => input.current?.click()}>
                Déposer des fichiers
            </Button>
            {deposits.length > 0 && (
                <ul className="bureau-files__uploads fr-mt-3w">
                    {deposits.map((d) => {
                        const pct = d.size > 0 ? Math.floor((d.sent / d.size) * 100) : d.status === "done" ? 100 : 0;
                        return (
                            <li key={d.id} className="bureau-upload" data-upload-name={d.name} data-upload-status={d.status}>
                                <div className="bureau-upload__line">
                                    <span className="bureau-upload__name">{d.name}</span>
                                    <span className="bureau-upload__pct">{pct} %</span>
                                </div>
                                <progress className={"bureau-progress" + (d.status === "error" ? " bureau-progress--error" : "")} max={100} value={pct} aria-label={`Dépôt de ${d.name}`} />
                                <span className={"fr-text--xs" + (d.status === "error" ? " bureau-upload__error" : " bureau-muted")} role={d.status === "error" ? "alert" : undefined}>
                                    {d.status === "error" ? d.error : d.status === "done" ? "Déposé" : `Envoi en cours · ${formatSize(d.sent)} / ${formatSize(d.size)}`}
                                </span>
                            </li>
                        );
                    })}
                </ul>
            )}
        </>
    );
}
