// Share links of a space: the active ones (revocable), and a form creating
// a read-only link or an upload-only « dépôt » link on the chosen item,
// with an optional expiry and password. The token is shown once.
import { useEffect, useState } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Alert } from "@codegouvfr/react-dsfr/Alert";
import { Badge } from "@codegouvfr/react-dsfr/Badge";
import { Button } from "@codegouvfr/react-dsfr/Button";
import { Input } from "@codegouvfr/react-dsfr/Input";
import { RadioButtons } from "@codegouvfr/react-dsfr/RadioButtons";
import { canEdit, endOfDay, errorMessage, filesApi, formatDate, shareUrl, type FileNode, type LinkKind, type ShareLink, type Space } from "../../files/api";
import { Loading } from "./TrashView";
import { useLoad } from "./useLoad";

type Props = { space: Space; node: FileNode | null; names: Map<string, string>; openKey: number };

export function LinksPanel({ space, node, names, openKey }: Props) {
    const [notice, setNotice] = useState<{ ok: boolean; text: string } | null>(null);
    const editable = canEdit(space.role);
    const { data: links, error, reload } = useLoad(
        editable
            ? (signal) => filesApi.links(space.id, signal).then((ls) => ls.filter((l) => !l.revoked_at).sort((a, b) => b.created_at.localeCompare(a.created_at)))
            : null,
        [space.id, editable, openKey]
    );
    useEffect(() => setNotice(null), [openKey]);

    if (!editable) return <p className="fr-text--sm bureau-muted">Seuls les contributeurs de l'espace peuvent créer et voir les liens de partage.</p>;

    const revoke = async (l: ShareLink) => {
        setNotice(null);
        try {
            await filesApi.revokeLink(space.id, l.id);
            setNotice({ ok: true, text: "Le lien a été révoqué : il ne fonctionne plus." });
            reload();
        } catch (err) {
            setNotice({ ok: false, text: errorMessage(err) });
        }
    };
    const shown = node ? links?.filter((l) => l.node_id === node.id) : links;

    return (
        <div data-testid="links-panel">
            {node ? (
                <NewLink key={`${node.id}/${openKey}`} space={space} node={node} onCreated={reload} />
            ) : (
                <p className="fr-text--sm bureau-muted">Pour créer un lien, utilisez le bouton « Partager » de la ligne d'un fichier ou d'un dossier.</p>
            )}
            <h3 className="fr-h6 fr-mt-3w fr-mb-1w">{node ? "Liens actifs de cet élément" : "Liens actifs de l'espace"}</h3>
            {notice && <Alert severity={notice.ok ? "success" : "error"} small description={notice.text} className={fr.cx("fr-mb-2w")} />}
            {error && <Alert severity="error" small description={error} />}
            {!shown && !error && <Loading />}
            {shown && shown.length === 0 && <p className="fr-text--sm bureau-muted">Aucun lien actif.</p>}
            {shown && shown.length > 0 && (
                <ul className="bureau-files__links">
                    {shown.map((l) => {
                        const expired = !!l.expires_at && new Date(l.expires_at) < new Date();
                        return (
                            <li key={l.id} data-link-id={l.id} data-link-kind={l.kind}>
                                <span className="bureau-files__link-text">
                                    <span>
                                        <Badge as="span" small noIcon severity={l.kind === "upload" ? "new" : "info"}>
                                            {l.kind === "upload" ? "Dépôt" : "Lecture seule"}
                                        </Badge>{" "}
                                        {!node && <strong>{names.get(l.node_id) ?? "Élément de l'espace"}</strong>}
                                    </span>
                                    <span className="fr-text--xs fr-mb-0 bureau-muted">
                                        Créé le {formatDate(l.created_at)}
                                        {l.expires_at ? (expired ? " · expiré" : ` · expire le ${formatDate(l.expires_at)}`) : " · sans expiration"}
                                        {l.has_password ? " · protégé par mot de passe" : ""}
                                    </span>
                                </span>
                                <Button size="small" priority="tertiary" iconId="fr-icon-close-circle-line" onClick={() => void revoke(l)}>
                                    Révoquer
                                </Button>
                            </li>
                        );
                    })}
                </ul>
            )}
        </div>
    );
}

function NewLink({ space, node, onCreated }: { space: Space; node: FileNode; onCreated: () => void }) {
    const folder = node.kind === "folder";
    const [kind, setKind] = useState<LinkKind>("read");
    const [expiry, setExpiry] = useState("");
    const [password, setPassword] = useState("");
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState("");
    const [url, setUrl] = useState("");
    const [copied, setCopied] = useState(false);

    const create = async () => {
        setError("");
        if (password && (password.length < 8 || password.length > 72)) return setError("Le mot de passe doit compter de 8 à 72 caractères.");
        const expires_at = expiry ? endOfDay(expiry) : undefined;
        if (expiry && (!expires_at || new Date(expires_at) <= new Date())) return setError("Choisissez une date d'expiration à venir.");
        setBusy(true);
        try {
            const r = await filesApi.createLink(space.id, { node: node.id, kind, password: password || undefined, expires_at });
            setUrl(shareUrl(location.origin, r.token));
            setCopied(false);
            setPassword("");
            onCreated();
        } catch (err) {
            setError(errorMessage(err));
        } finally {
            setBusy(false);
        }
    };
    const copy = async () => {
        try {
            await navigator.clipboard.writeText(url);
            setCopied(true);
        } catch {
            // No clipboard permission (plain http): select the text for Ctrl+C.
            (document.getElementById("bureau-share-url") as HTMLInputElement | null)?.select();
        }
    };

    if (url) {
        return (
            <div className="bureau-files__new-link" data-testid="new-link">
                <Alert severity="success" small description="Lien créé. Copiez-le maintenant : il ne sera plus affiché." className={fr.cx("fr-mb-2w")} />
                <Input label="Adresse du lien" nativeInputProps={{ id: "bureau-share-url", value: url, readOnly: true, onFocus: (e) => e.target.select() }} />
                <div className="bureau-files__buttons">
                    <Button size="small" iconId="fr-icon-clipboard-line" onClick={() => void copy()}>
                        {copied ? "Lien copié" : "Copier le lien"}
                    </Button>
                    <Button size="small" priority="secondary" onClick={() => setUrl("")}>
                        Créer un autre lien
                    </Button>
                </div>
            </div>
        );
    }
    return (
        <form
            className="bureau-files__new-link"
            onSubmit={(e) => {
                e.preventDefault();
                void create();
            }}
        >
            <p className="fr-mb-1w">
                Nouveau lien pour <strong>« {node.name} »</strong>
            </p>
            <RadioButtons
                legend="Type de lien"
                name="link-kind"
                small
                options={[
                    {
                        label: "Lecture seule",
                        hintText: folder ? "Consulter et télécharger le contenu du dossier" : "Télécharger le fichier",
                        nativeInputProps: { value: "read", checked: kind === "read", onChange: () => setKind("read") }
                    },
                    ...(folder
                        ? [
                              {
                                  label: "Dépôt",
                                  hintText: "Déposer des fichiers dans ce dossier, sans voir son contenu",
                                  nativeInputProps: { value: "upload", checked: kind === "upload", onChange: () => setKind("upload") }
                              }
                          ]
                        : [])
                ]}
            />
            <div className="bureau-files__link-options">
                <Input
                    label="Date d'expiration (facultative)"
                    nativeInputProps={{ type: "date", value: expiry, onChange: (e) => setExpiry(e.target.value), name: "link-expiry" }}
                />
                <Input
                    label="Mot de passe (facultatif)"
                    hintText="8 caractères au moins"
                    nativeInputProps={{ type: "password", value: password, onChange: (e) => setPassword(e.target.value), autoComplete: "new-password", name: "link-password" }}
                />
            </div>
            {error && <Alert severity="error" small description={error} className={fr.cx("fr-mb-2w")} />}
            <Button type="submit" size="small" iconId="fr-icon-link" disabled={busy}>
                Créer le lien
            </Button>
        </form>
    );
}
