// Members of a space: the list with roles, and (managers and owners of a
// team space) adding an agent found through the gateway's directory.
import { useEffect, useState } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Alert } from "@codegouvfr/react-dsfr/Alert";
import { Badge } from "@codegouvfr/react-dsfr/Badge";
import { Button } from "@codegouvfr/react-dsfr/Button";
import { Input } from "@codegouvfr/react-dsfr/Input";
import { Select } from "@codegouvfr/react-dsfr/Select";
import { canManage, errorMessage, filesApi, type DirectoryEntry, type Member, type Role, type Space } from "../../files/api";
import { roleLabel } from "./SpaceList";
import { Loading } from "./TrashView";
import { useLoad } from "./useLoad";

const ROLES: Role[] = ["reader", "editor", "manager", "owner"];
const RANK: Record<Role, number> = { reader: 0, editor: 1, manager: 2, owner: 3 };

/** Names of agents seen in the directory this session: members come by id only. */
const known = new Map<string, DirectoryEntry>();

function memberName(m: Member, meId: string): string {
    if (m.user_id === meId) return "Vous";
    return m.display_name || known.get(m.user_id)?.display_name || m.email || known.get(m.user_id)?.email || `Agent ${m.user_id.slice(0, 8)}…`;
}

export function MembersPanel({ space, meId, openKey }: { space: Space; meId: string; openKey: number }) {
    const { data: members, error, reload } = useLoad(
        (signal) => filesApi.members(space.id, signal).then((ms) => [...ms].sort((a, b) => RANK[b.role] - RANK[a.role])),
        [space.id, openKey]
    );

    return (
        <div data-testid="members-panel">
            {error && <Alert severity="error" small description={error} className={fr.cx("fr-mb-2w")} />}
            {!members && !error && <Loading />}
            {members && (
                <ul className="bureau-files__members">
                    {members.map((m) => (
                        <li key={m.user_id} data-member-id={m.user_id}>
                            <span className={fr.cx("fr-icon-user-line", "fr-icon--sm", "fr-mr-1w")} aria-hidden="true" />
                            <span className="bureau-files__member-name">{memberName(m, meId)}</span>
                            <Badge as="span" small noIcon severity={m.role === "owner" || m.role === "manager" ? "new" : undefined}>
                                {roleLabel(m.role)}
                            </Badge>
                        </li>
                    ))}
                </ul>
            )}
            {space.kind === "personal" ? (
                <p className="fr-text--sm bureau-muted fr-mt-2w">Votre espace personnel ne se partage pas avec des membres : créez un lien de partage ou un espace d'équipe.</p>
            ) : canManage(space.role) ? (
                <AddMember space={space} onAdded={reload} />
            ) : (
                <p className="fr-text--sm bureau-muted fr-mt-2w">Seuls les gestionnaires de l'espace peuvent ajouter des membres.</p>
            )}
        </div>
    );
}

function AddMember({ space, onAdded }: { space: Space; onAdded: () => void }) {
    const [q, setQ] = useState("");
    const [results, setResults] = useState<DirectoryEntry[] | null>(null);
    const [searchError, setSearchError] = useState("");
    const [chosen, setChosen] = useState<DirectoryEntry | null>(null);
    const [role, setRole] = useState<Role>("editor");
    const [busy, setBusy] = useState(false);
    const [notice, setNotice] = useState<{ ok: boolean; text: string } | null>(null);

    // Search as the agent types, 250 ms after the last key.
    useEffect(() => {
        if (q.trim().length < 2) return setResults(null);
        const ctl = new AbortController();
        const timer = setTimeout(() => {
            filesApi
                .directory(q.trim(), ctl.signal)
                .then((r) => {
                    r.forEach((e) => known.set(e.id, e));
                    setResults(r);
                    setSearchError("");
                })
                .catch((err) => !ctl.signal.aborted && setSearchError(errorMessage(err)));
        }, 250);
        return () => {
            clearTimeout(timer);
            ctl.abort();
        };
    }, [q]);

    const allowed = ROLES.filter((r) => RANK[r] <= RANK[space.role ?? "reader"]);
    const add = async () => {
        if (!chosen) return;
        setBusy(true);
        setNotice(null);
        try {
            await filesApi.addMember(space.id, chosen.id, role);
            setNotice({ ok: true, text: `${chosen.display_name} a été ajouté comme ${roleLabel(role)}.` });
            setChosen(null);
            setQ("");
            onAdded();
        } catch (err) {
            setNotice({ ok: false, text: errorMessage(err) });
        } finally {
            setBusy(false);
        }
    };

    return (
        <section className="fr-mt-3w" aria-labelledby="bureau-add-member">
            <h3 id="bureau-add-member" className="fr-h6 fr-mb-1w">
                Ajouter un membre
            </h3>
            {notice && <Alert severity={notice.ok ? "success" : "error"} small description={notice.text} className={fr.cx("fr-mb-2w")} />}
            {chosen ? (
                <div className="bureau-files__chosen">
                    <p className="fr-mb-1w">
                        <strong>{chosen.display_name}</strong> <span className="bureau-muted">{chosen.email}</span>
                        {chosen.ministry?.name ? <span className="fr-text--xs bureau-muted"> · {chosen.ministry.name}</span> : null}
                    </p>
                    <Select label="Rôle" nativeSelectProps={{ value: role, onChange: (e) => setRole(e.target.value as Role), name: "role" }}>
                        {allowed.map((r) => (
                            <option key={r} value={r}>
                                {roleLabel(r)}
                            </option>
                        ))}
                    </Select>
                    <div className="bureau-files__buttons">
                        <Button size="small" disabled={busy} onClick={() => void add()}>
                            Ajouter
                        </Button>
                        <Button size="small" priority="secondary" onClick={() => setChosen(null)}>
                            Changer d'agent
                        </Button>
                    </div>
                </div>
            ) : (
                <>
                    <Input
                        label="Rechercher un agent"
                        hintText="Nom ou adresse électronique, tous ministères"
                        state={searchError ? "error" : "default"}
                        stateRelatedMessage={searchError}
                        nativeInputProps={{ value: q, onChange: (e) => setQ(e.target.value), type: "search", autoComplete: "off", name: "member-search" }}
                    />
                    {results && results.length === 0 && <p className="fr-text--sm bureau-muted">Aucun agent ne correspond.</p>}
                    {results && results.length > 0 && (
                        <ul className="bureau-files__picker" data-testid="directory-results">
                            {results.map((e) => (
                                <li key={e.id}>
                                    <button
                                        type="button"
                                        className={fr.cx("fr-btn", "fr-btn--tertiary-no-outline", "fr-btn--sm")}
                                        onClick={() => setChosen(e)}
                                        data-email={e.email}
                                    >
                                        {e.display_name} · {e.email}
                                    </button>
                                </li>
                            ))}
                        </ul>
                    )}
                </>
            )}
        </section>
    );
}
