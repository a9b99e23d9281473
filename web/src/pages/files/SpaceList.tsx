import { useState } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Alert } from "@codegouvfr/react-dsfr/Alert";
import { Button } from "@codegouvfr/react-dsfr/Button";
import { Input } from "@codegouvfr/react-dsfr/Input";
import { createModal } from "@codegouvfr/react-dsfr/Modal";
import { errorMessage, filesApi, locationPath, nameProblem, type AgentQuota, type Space } from "../../files/api";
import { Link, navigate } from "../../router";
import { QuotaBar } from "./QuotaBar";
import { FileSearch } from "./Search";
import { WebDavAccess } from "./WebDavAccess";

const spaceModal = createModal({ id: "bureau-files-new-space", isOpenedByDefault: false });

/** The agent's spaces (personal first), their own quota, search, and the creation of a team space. */
export function SpaceList({ spaces, canCreate, email, myQuota }: { spaces: Space[]; canCreate: boolean; email: string; myQuota: AgentQuota | null }) {
    return (
        <>
            <div className="bureau-files__toolbar">
                <h1 className="fr-mb-0">Fichiers</h1>
                {canCreate && (
                    <Button iconId="fr-icon-add-line" priority="secondary" nativeButtonProps={spaceModal.buttonProps}>
                        Nouvel espace d'équipe
                    </Button>
                )}
            </div>
            {myQuota && <QuotaBar space={{ used: myQuota.used + myQuota.reserved, quota: myQuota.quota }} mine />}
            <FileSearch />
            <ul className="bureau-files__spaces">
                {spaces.map((s) => (
                    <li key={s.id} className="bureau-files__space" data-space-kind={s.kind}>
                        <span
                            className={fr.cx(s.kind === "personal" ? "fr-icon-user-line" : "fr-icon-team-line", "fr-mr-1w")}
                            aria-hidden="true"
                        />
                        <div className="bureau-files__space-text">
                            <Link href={locationPath({ view: "folder", space: s.id, folder: "" })} className="fr-link">
                                {s.name}
                            </Link>
                            <p className="fr-text--xs fr-mb-0 bureau-muted">
                                {s.kind === "personal" ? "Espace personnel" : "Espace d'équipe"}
                                {s.role ? ` · ${roleLabel(s.role)}` : ""}
                            </p>
                            <QuotaBar space={s} />
                        </div>
                    </li>
                ))}
            </ul>
            <WebDavAccess email={email} />
            {canCreate && <NewSpaceModal />}
        </>
    );
}

export function roleLabel(role: string): string {
    return (
        { owner: "propriétaire", manager: "gestionnaire", editor: "contributeur", reader: "lecteur" } as Record<string, string>
    )[role] ?? role;
}

function NewSpaceModal() {
    const [name, setName] = useState("");
    const [error, setError] = useState("");
    const [busy, setBusy] = useState(false);
    const submit = async () => {
        const problem = nameProblem(name);
        if (problem) return setError(problem);
        setBusy(true);
        try {
            const sp = await filesApi.createSpace(name);
            spaceModal.close();
            setName("");
            setError("");
            navigate(locationPath({ view: "folder", space: sp.id, folder: "" }));
        } catch (err) {
            setError(errorMessage(err));
        } finally {
            setBusy(false);
        }
    };
    return (
        <spaceModal.Component
            title="Nouvel espace d'équipe"
            buttons={[
                { children: "Annuler", priority: "secondary" },
                { children: "Créer", doClosesModal: false, disabled: busy, onClick: () => void submit() }
            ]}
        >
            <form
                onSubmit={(e) => {
                    e.preventDefault();
                    void submit();
                }}
            >
                <Input
                    label="Nom de l'espace"
                    state={error ? "error" : "default"}
                    stateRelatedMessage={error}
                    nativeInputProps={{ value: name, onChange: (e) => setName(e.target.value), name: "space-name", autoComplete: "off" }}
                />
            </form>
        </spaceModal.Component>
    );
}

export function LoadError({ message, retry }: { message: string; retry?: () => void }) {
    return (
        <Alert
            severity="error"
            title="Impossible d'afficher ce contenu"
            className={fr.cx("fr-my-2w")}
            description={
                <>
                    <p>{message}</p>
                    {retry && (
                        <Button className={fr.cx("fr-mt-1w")} priority="secondary" size="small" onClick={retry}>
                            Réessayer
                        </Button>
                    )}
                </>
            }
        />
    );
}
