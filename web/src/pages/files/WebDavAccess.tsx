// « Accès WebDAV »: the address to give an OS file explorer or rclone, and
// the agent's app passwords (WebDAV clients cannot do ProConnect): create
// one (shown once, to copy), list them with their last use, revoke.
import { useState } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Accordion } from "@codegouvfr/react-dsfr/Accordion";
import { Alert } from "@codegouvfr/react-dsfr/Alert";
import { Button } from "@codegouvfr/react-dsfr/Button";
import { Input } from "@codegouvfr/react-dsfr/Input";
import { errorMessage, filesApi, formatDate } from "../../files/api";
import { Loading } from "./TrashView";
import { useLoad } from "./useLoad";

export function WebDavAccess({ email }: { email: string }) {
    const [expanded, setExpanded] = useState(false);
    return (
        <Accordion label="Accès WebDAV (explorateur de fichiers, rclone)" titleAs="h2" expanded={expanded} onExpandedChange={setExpanded} className={fr.cx("fr-mt-4w")}>
            {expanded && <AppPasswords email={email} />}
        </Accordion>
    );
}

function AppPasswords({ email }: { email: string }) {
    const { data: list, error, reload } = useLoad((signal) => filesApi.appPasswords(signal), []);
    const [label, setLabel] = useState("");
    const [created, setCreated] = useState<{ label: string; password: string } | null>(null);
    const [notice, setNotice] = useState<{ ok: boolean; text: string } | null>(null);
    const [busy, setBusy] = useState(false);

    const create = async () => {
        setNotice(null);
        if (!label.trim()) return setNotice({ ok: false, text: "Donnez un libellé (par exemple le nom de l'ordinateur)." });
        setBusy(true);
        try {
            const p = await filesApi.createAppPassword(label.trim());
            setCreated({ label: p.label, password: p.password });
            setLabel("");
            reload();
        } catch (err) {
            setNotice({ ok: false, text: errorMessage(err) });
        } finally {
            setBusy(false);
        }
    };
    const revoke = async (id: string, name: string) => {
        setNotice(null);
        try {
            await filesApi.revokeAppPassword(id);
            setNotice({ ok: true, text: `Le mot de passe « ${name} » est révoqué.` });
            reload();
        } catch (err) {
            setNotice({ ok: false, text: errorMessage(err) });
        }
    };

    return (
        <div data-testid="webdav">
            <p className="fr-text--sm">
                Adresse : <code>{location.origin}/dav/</code> — identifiant : <code>{email}</code> — mot de passe : un mot de passe d'application
                ci-dessous (votre connexion ProConnect ne fonctionne pas dans ces logiciels).
            </p>
            {created && (
                <Alert
                    severity="success"
                    small
                    className={fr.cx("fr-mb-2w")}
                    description={
                        <>
                            Mot de passe « {created.label} » : <code data-testid="app-password">{created.password}</code>
                            <br />
                            Copiez-le maintenant : il ne sera plus affiché.
                        </>
                    }
                    closable
                    onClose={() => setCreated(null)}
                />
            )}
            {notice && <Alert severity={notice.ok ? "success" : "error"} small description={notice.text} className={fr.cx("fr-mb-2w")} />}
            <form
                className="bureau-files__app-password-form"
                onSubmit={(e) => {
                    e.preventDefault();
                    void create();
                }}
            >
                <Input label="Libellé du nouveau mot de passe" nativeInputProps={{ value: label, onChange: (e) => setLabel(e.target.value), maxLength: 100, name: "app-password-label" }} />
                <Button type="submit" size="small" disabled={busy}>
                    Créer un mot de passe
                </Button>
            </form>
            {error && <Alert severity="error" small description={error} />}
            {!list && !error && <Loading />}
            {list && list.length === 0 && <p className="fr-text--sm bureau-muted fr-mt-2w">Aucun mot de passe d'application.</p>}
            {list && list.length > 0 && (
                <ul className="bureau-files__links fr-mt-2w">
                    {list.map((p) => (
                        <li key={p.id}>
                            <span className="bureau-files__link-text">
                                <strong>{p.label}</strong>
                                <span className="fr-text--xs fr-mb-0 bureau-muted">
                                    Créé le {formatDate(p.created_at)} · {p.last_used_at ? `utilisé le ${formatDate(p.last_used_at)}` : "jamais utilisé"}
                                </span>
                            </span>
                            <Button size="small" priority="tertiary" iconId="fr-icon-close-circle-line" onClick={() => void revoke(p.id, p.label)}>
                                Révoquer
                            </Button>
                        </li>
                    ))}
                </ul>
            )}
        </div>
    );
}
