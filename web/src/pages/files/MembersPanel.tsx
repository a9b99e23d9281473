// Members of a space: the list with roles; for managers and owners of a team
// space, changing a role, removing a member, withdrawing an invitation, and
// adding an agent found through the gateway's directory or invited by email.
// Anyone may leave a team space.
import { useEffect, useState } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Alert } from "@codegouvfr/react-dsfr/Alert";
import { Badge } from "@codegouvfr/react-dsfr/Badge";
import { Button } from "@codegouvfr/react-dsfr/Button";
import { Input } from "@codegouvfr/react-dsfr/Input";
import { Select } from "@codegouvfr/react-dsfr/Select";
import {
    assignableRoles,
    canManage,
    canManageMember,
    errorMessage,
    formatDate,
    isInvitation,
    filesApi,
    looksLikeEmail,
    RANK,
    type DirectoryEntry,
    type Member,
    type Role,
    type Space
} from "../../files/api";
import { roleLabel } from "./SpaceList";
import { Loading } from "./TrashView";
import { useLoad } from "./useLoad";

/** Names of agents seen in the directory this session: members come by id only. */
const known = new Map<string, DirectoryEntry>();

function memberName(m: Member, meId: string): string {
    if (m.user_id === meId) return "Vous";
    if (isInvitation(m)) return m.email ?? "";
    return m.display_name || known.get(m.user_id)?.display_name || m.email || known.get(m.user_id)?.email || `Agent ${m.user_id.slice(0, 8)}…`;
}

const memberKey = (m: Member) => (isInvitation(m) ? "invitation:" + m.email : m.user_id);

export function MembersPanel({ space, meId, openKey, onLeft }: { space: Space; meId: string; openKey: number; onLeft: () => void }) {
    const { data: members, error, reload } = useLoad(
        // Members by rank, pending invitations last (the service's order too).
        (signal) =>
            filesApi
                .members(space.id, signal)
                .then((ms) => [...ms].sort((a, b) => Number(isInvitation(a)) - Number(isInvitation(b)) || RANK[b.role] - RANK[a.role])),
        [space.id, openKey]
    );
    // The row awaiting confirmation of « Retirer » / « Quitter » / « Annuler l'invitation ».
    const [confirming, setConfirming] = useState("");
    const [busy, setBusy] = useState(false);
    const [notice, setNotice] = useState<{ ok: boolean; text: string } | null>(null);
    useEffect(() => {
        setConfirming("");
        setNotice(null);
    }, [space.id, openKey]);

    const team = space.kind === "team";
    const act = async (fn: () => Promise<unknown>, done: string, after?: () => void) => {
        setBusy(true);
        setNotice(null);
        try {
            await fn();
            setNotice({ ok: true, text: done });
            setConfirming("");
            if (after) after();
            else reload();
        } catch (err) {
            setNotice({ ok: false, text: errorMessage(err) });
        } finally {
            setBusy(false);
        }
    };

    const rowActions = (m: Member) => {
        const key = memberKey(m);
        const me = m.user_id === meId;
        if (!team) return null;
        if (isInvitation(m)) {
            if (!canManage(space.role)) return null;
            return confirming === key ? (
                <Confirm
                    label="Annuler l'invitation"
                    busy={busy}
                    onYes={() => void act(() => filesApi.cancelInvitation(space.id, m.email ?? ""), `L'invitation de ${m.email} est annulée.`)}
                    onNo={() => setConfirming("")}
                />
            ) : (
                <>
                    {/* Inviting the address again renews the invitation (a new expiry). */}
                    <Button
                        size="small"
                        priority="tertiary"
                        disabled={busy}
                        onClick={() => void act(() => filesApi.invite(space.id, m.email ?? "", m.role), `L'invitation de ${m.email} a été renvoyée.`)}
                    >
                        Renvoyer l'invitation
                    </Button>
                    <Button size="small" priority="tertiary" onClick={() => setConfirming(key)}>
                        Annuler l'invitation
                    </Button>
                </>
            );
        }
        if (me) {
            return confirming === key ? (
                <Confirm
                    label="Quitter l'espace"
                    busy={busy}
                    onYes={() =>
                        void act(() => filesApi.removeMember(space.id, meId), "Vous avez quitté l'espace.", onLeft)
                    }
                    onNo={() => setConfirming("")}
                />
            ) : (
                <Button size="small" priority="tertiary" iconId="fr-icon-logout-box-r-line" onClick={() => setConfirming(key)}>
                    Quitter l'espace
                </Button>
            );
        }
        if (!canManageMember(space.role, m)) return null;
        return (
            <>
                <Select
                    label={<span className="fr-sr-only">Rôle de {memberName(m, meId)}</span>}
                    className="bureau-files__member-role"
                    disabled={busy}
                    nativeSelectProps={{
                        value: m.role,
                        name: "member-role",
                        onChange: (e) => {
                            const role = e.target.value as Role;
                            void act(() => filesApi.setRole(space.id, m.user_id, role), `${memberName(m, meId)} est maintenant ${roleLabel(role)}.`);
                        }
                    }}
                >
                    {assignableRoles(space.role).map((r) => (
                        <option key={r} value={r}>
                            {roleLabel(r)}
                        </option>
                    ))}
                </Select>
                {confirming === key ? (
                    <Confirm
                        label="Retirer"
                        busy={busy}
                        onYes={() => void act(() => filesApi.removeMember(space.id, m.user_id), `${memberName(m, meId)} a été retiré de l'espace.`)}
                        onNo={() => setConfirming("")}
                    />
                ) : (
                    <Button size="small" priority="tertiary" onClick={() => setConfirming(key)}>
                        Retirer
                    </Button>
                )}
            </>
        );
    };

    return (
        <div data-testid="members-panel">
            {error && <Alert severity="error" small description={error} className={fr.cx("fr-mb-2w")} />}
            {notice && <Alert severity={notice.ok ? "success" : "error"} small description={notice.text} className={fr.cx("fr-mb-2w")} />}
            {!members && !error && <Loading />}
            {members && (
                <ul className="bureau-files__members">
                    {members.map((m) => (
                        <li key={memberKey(m)} data-member-id={m.user_id} data-member-email={m.email} data-member-status={m.status ?? "member"}>
                            <span className="bureau-files__member-who">
                                <span className={fr.cx(isInvitation(m) ? "fr-icon-mail-line" : "fr-icon-user-line", "fr-icon--sm", "fr-mr-1w")} aria-hidden="true" />
                                <span className="bureau-files__member-name">{memberName(m, meId)}</span>
                                <Badge as="span" small noIcon severity={m.role === "owner" || m.role === "manager" ? "new" : undefined}>
                                    {roleLabel(m.role)}
                                </Badge>
                                {m.status === "pending" && (
                                    <Badge as="span" small noIcon severity="warning">
                                        En attente
                                    </Badge>
                                )}
                                {m.status === "expired" && (
                                    <Badge as="span" small noIcon severity="error">
                                        Expirée
                                    </Badge>
                                )}
                                {isInvitation(m) && m.expires_at && (
                                    <span className="fr-text--xs bureau-muted">
                                        {m.status === "expired" ? "depuis le" : "jusqu'au"} {formatDate(m.expires_at)}
                                    </span>
                                )}
                            </span>
                            <span className="bureau-files__member-actions">{rowActions(m)}</span>
                        </li>
                    ))}
                </ul>
            )}
            {space.kind === "personal" ? (
                <p className="fr-text--sm bureau-muted fr-mt-2w">Votre espace personnel ne se partage pas avec des membres : créez un lien de partage ou un espace d'équipe.</p>
            ) : canManage(space.role) ? (
                <AddMember
                    space={space}
                    onAdded={() => {
                        setNotice(null); // the add form shows its own notice
                        reload();
                    }}
                />
            ) : (
                <p className="fr-text--sm bureau-muted fr-mt-2w">Seuls les gestionnaires de l'espace peuvent ajouter des membres.</p>
            )}
        </div>
    );
}

function Confirm({ label, busy, onYes, onNo }: { label: string; busy: boolean; onYes: () => void; onNo: () => void }) {
    return (
        <span className="bureau-files__confirm" role="group" aria-label={`Confirmer : ${label}`}>
            <Button size="small" priority="primary" disabled={busy} onClick={onYes} nativeButtonProps={{ "data-confirm": "yes" }}>
                Confirmer : {label.toLowerCase()}
            </Button>
            <Button size="small" priority="secondary" onClick={onNo}>
                Annuler
            </Button>
        </span>
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

    const allowed = assignableRoles(space.role);
    // Invite by email when the directory has no agent with exactly that address.
    const email = q.trim().toLowerCase();
    const invitable = looksLikeEmail(email) && results !== null && !results.some((e) => e.email.toLowerCase() === email);
    // Adds (by directory id) or invites (by email); the notice says which happened.
    const submit = async (fn: () => Promise<Member>, done: (m: Member) => string) => {
        setBusy(true);
        setNotice(null);
        try {
            const m = await fn();
            setNotice({ ok: true, text: done(m) });
            setChosen(null);
            setQ("");
            onAdded();
        } catch (err) {
            setNotice({ ok: false, text: errorMessage(err) });
        } finally {
            setBusy(false);
        }
    };
    const invite = () =>
        submit(
            () => filesApi.invite(space.id, email, role),
            (m) =>
                m.status === "pending"
                    ? `Invitation enregistrée : ${email} deviendra ${roleLabel(role)} à sa première connexion.`
                    : `${email} a été ajouté comme ${roleLabel(role)}.`
        );
    const add = () => chosen && submit(() => filesApi.addMember(space.id, chosen.id, role), () => `${chosen.display_name} a été ajouté comme ${roleLabel(role)}.`);

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
                    <RoleSelect roles={allowed} role={role} onChange={setRole} name="role" />
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
                    {invitable && (
                        <div className="bureau-files__chosen" data-testid="invite">
                            <p className="fr-text--sm fr-mb-1w">
                                Inviter <strong>{email}</strong> par adresse électronique : l'agent rejoindra l'espace à sa première connexion.
                            </p>
                            <RoleSelect roles={allowed} role={role} onChange={setRole} name="invite-role" />
                            <Button size="small" disabled={busy} onClick={() => void invite()}>
                                Inviter
                            </Button>
                        </div>
                    )}
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

function RoleSelect({ roles, role, onChange, name }: { roles: Role[]; role: Role; onChange: (r: Role) => void; name: string }) {
    return (
        <Select label="Rôle" nativeSelectProps={{ value: role, onChange: (e) => onChange(e.target.value as Role), name }}>
            {roles.map((r) => (
                <option key={r} value={r}>
                    {roleLabel(r)}
                </option>
            ))}
        </Select>
    );
}
