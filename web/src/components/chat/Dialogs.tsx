// "Nouvelle conversation" (direct chat with an agent from the directory) and
// "Nouveau salon" (name, invited agents).
import { useEffect, useState } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Alert } from "@codegouvfr/react-dsfr/Alert";
import { Checkbox } from "@codegouvfr/react-dsfr/Checkbox";
import { Input } from "@codegouvfr/react-dsfr/Input";
import { Tag } from "@codegouvfr/react-dsfr/Tag";
import { createModal } from "@codegouvfr/react-dsfr/Modal";
import { useIsModalOpen } from "@codegouvfr/react-dsfr/Modal/useIsModalOpen";
import type { MatrixClient } from "matrix-js-sdk";
import { createDirect, createGroup, findDirectRoom } from "../../chat/client";
import { searchAgents, withMatrixIds, type Agent } from "../../chat/directory";
import { roomPath, serverNameOf } from "../../chat/ids";
import { chatErrorMessage } from "../../chat/session";
import { navigate } from "../../router";

export const directModal = createModal({ id: "bureau-chat-new-direct", isOpenedByDefault: false });
export const roomModal = createModal({ id: "bureau-chat-new-room", isOpenedByDefault: false });

type Found = Agent & { mxid: string };

/** Directory search as one types (2 characters at least). */
function useAgentSearch(client: MatrixClient, q: string) {
    const [results, setResults] = useState<Found[]>([]);
    const [error, setError] = useState("");
    const [searching, setSearching] = useState(false);
    useEffect(() => {
        const query = q.trim();
        if (query.length < 2) {
            setResults([]);
            setError("");
            return;
        }
        const ctl = new AbortController();
        const timer = setTimeout(() => {
            setSearching(true);
            searchAgents(query, ctl.signal)
                .then((r) => {
                    const me = client.getUserId() ?? "";
                    setResults(withMatrixIds(r, serverNameOf(me), me));
                    setError("");
                })
                .catch((err: Error) => !ctl.signal.aborted && setError(err.message))
                .finally(() => !ctl.signal.aborted && setSearching(false));
        }, 250);
        return () => {
            clearTimeout(timer);
            ctl.abort();
        };
    }, [client, q]);
    return { results, error, searching };
}

function AgentResults({ found, q, searching, onPick, action }: { found: Found[]; q: string; searching: boolean; onPick: (a: Found) => void; action: string }) {
    if (q.trim().length < 2) return <p className={fr.cx("fr-text--sm", "fr-mb-0")}>Tapez au moins deux lettres du nom ou de l'adresse.</p>;
    if (searching && found.length === 0) return <p className={fr.cx("fr-text--sm", "fr-mb-0")}>Recherche…</p>;
    if (found.length === 0) return <p className={fr.cx("fr-text--sm", "fr-mb-0")}>Aucun agent trouvé.</p>;
    return (
        <ul className="bureau-chat__agents">
            {found.map((a) => (
                <li key={a.mxid}>
                    <button type="button" className="bureau-chat__agent" onClick={() => onPick(a)} aria-label={`${action} ${a.display_name}`}>
                        <span className="bureau-chat__agent-name">{a.display_name || a.email}</span>
                        <span className="bureau-chat__agent-detail">
                            {a.email}
                            {a.ministry?.name ? ` · ${a.ministry.name}` : ""}
                        </span>
                    </button>
                </li>
            ))}
        </ul>
    );
}

export function NewDirectDialog({ client, e2ee }: { client: MatrixClient; e2ee: boolean }) {
    const open = useIsModalOpen(directModal);
    const [q, setQ] = useState("");
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState("");
    const s = useAgentSearch(client, q);
    useEffect(() => {
        if (open) {
            setQ("");
            setError("");
        }
    }, [open]);
    const pick = async (a: Found) => {
        const existing = findDirectRoom(client, a.mxid);
        if (existing) {
            directModal.close();
            return navigate(roomPath(existing.roomId));
        }
        setBusy(true);
        setError("");
        try {
            const id = await createDirect(client, a.mxid, e2ee);
            directModal.close();
            navigate(roomPath(id));
        } catch (err) {
            setError(chatErrorMessage(err));
        } finally {
            setBusy(false);
        }
    };
    return (
        <directModal.Component title="Nouvelle conversation" buttons={[{ children: "Annuler", priority: "secondary" }]}>
            <Input
                label="Rechercher un agent"
                hintText="Nom, prénom ou adresse électronique"
                nativeInputProps={{ value: q, onChange: (e) => setQ(e.target.value), autoComplete: "off", type: "search", name: "agent" }}
            />
            {(error || s.error) && <Alert small severity="error" description={error || s.error} className={fr.cx("fr-mb-2w")} />}
            {busy ? <p>Création de la conversation…</p> : <AgentResults found={s.results} q={q} searching={s.searching} onPick={(a) => void pick(a)} action="Écrire à" />}
        </directModal.Component>
    );
}

export function NewRoomDialog({ client, e2ee }: { client: MatrixClient; e2ee: boolean }) {
    const open = useIsModalOpen(roomModal);
    const [name, setName] = useState("");
    const [q, setQ] = useState("");
    const [invited, setInvited] = useState<Found[]>([]);
    const [encrypted, setEncrypted] = useState(e2ee);
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState("");
    const s = useAgentSearch(client, q);
    useEffect(() => {
        if (open) {
            setName("");
            setQ("");
            setInvited([]);
            setEncrypted(e2ee);
            setError("");
        }
    }, [open, e2ee]);
    const submit = async () => {
        if (!name.trim()) return setError("Donnez un nom au salon.");
        setBusy(true);
        setError("");
        try {
            const id = await createGroup(
                client,
                name.trim(),
                invited.map((a) => a.mxid),
                encrypted && e2ee
            );
            roomModal.close();
            navigate(roomPath(id));
        } catch (err) {
            setError(chatErrorMessage(err));
        } finally {
            setBusy(false);
        }
    };
    return (
        <roomModal.Component
            title="Nouveau salon"
            buttons={[
                { children: "Annuler", priority: "secondary" },
                { children: "Créer le salon", doClosesModal: false, disabled: busy, onClick: () => void submit() }
            ]}
        >
            <form
                onSubmit={(e) => {
                    e.preventDefault();
                    void submit();
                }}
            >
                <Input label="Nom du salon" nativeInputProps={{ value: name, onChange: (e) => setName(e.target.value), autoComplete: "off", name: "room-name", maxLength: 255 }} />
            </form>
            <Input
                label="Inviter des agents"
                hintText="Nom, prénom ou adresse électronique"
                nativeInputProps={{ value: q, onChange: (e) => setQ(e.target.value), autoComplete: "off", type: "search", name: "invite" }}
            />
            {invited.length > 0 && (
                <ul className={fr.cx("fr-tags-group", "fr-mb-1w")} aria-label="Agents invités">
                    {invited.map((a) => (
                        <li key={a.mxid}>
                            <Tag small dismissible nativeButtonProps={{ onClick: () => setInvited((l) => l.filter((x) => x.mxid !== a.mxid)), "aria-label": `Retirer ${a.display_name}` }}>
                                {a.display_name || a.email}
                            </Tag>
                        </li>
                    ))}
                </ul>
            )}
            <AgentResults
                found={s.results.filter((a) => !invited.some((x) => x.mxid === a.mxid))}
                q={q}
                searching={s.searching}
                action="Inviter"
                onPick={(a) => {
                    setInvited((l) => [...l, a]);
                    setQ("");
                }}
            />
            {e2ee && (
                <Checkbox
                    className={fr.cx("fr-mt-2w")}
                    options={[
                        {
                            label: "Chiffrer de bout en bout",
                            hintText: "Seuls les participants pourront lire les messages.",
                            nativeInputProps: { checked: encrypted, onChange: (e) => setEncrypted(e.target.checked), name: "encrypted" }
                        }
                    ]}
                />
            )}
            {error && <Alert small severity="error" description={error} className={fr.cx("fr-mt-2w")} />}
        </roomModal.Component>
    );
}
