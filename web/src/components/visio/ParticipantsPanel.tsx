import { fr } from "@codegouvfr/react-dsfr";
import { Button } from "@codegouvfr/react-dsfr/Button";
import { roleLabel, type ModerateAction, type Participant } from "../../visio/protocol";
import { initials } from "./VideoTile";

type Props = {
    participants: Participant[];
    /** Webinars: how many are in the room (an attendee's list holds the stage only). */
    count: number | null;
    /** Emoji on show, by participant id. */
    reactions: Record<string, string>;
    selfId: string | null;
    speaking: string[];
    lobby: Participant[];
    canModerate: boolean;
    selfIsHost: boolean;
    webinar: boolean;
    locked: boolean;
    onAdmit: (id: string) => void;
    onDeny: (id: string) => void;
    onModerate: (action: ModerateAction, id: string) => void;
    onPromote: (id: string) => void;
    onDemote: (id: string) => void;
    onLock: (locked: boolean) => void;
    onEnd: () => void;
};

/** Admission requests (hosts only), then everyone in the room. */
export function ParticipantsPanel(props: Props) {
    const { participants, count, reactions, selfId, speaking, lobby, canModerate, selfIsHost, webinar, locked, onAdmit, onDeny } = props;
    const total = Math.max(count ?? 0, participants.length);
    return (
        <div className="visio-panel__body">
            {canModerate && (
                <div className="visio-actions visio-actions--tight fr-mb-2w">
                    <Button
                        size="small"
                        priority="secondary"
                        iconId={locked ? "fr-icon-lock-unlock-line" : "fr-icon-lock-line"}
                        onClick={() => props.onLock(!locked)}
                        nativeButtonProps={{ "data-testid": "visio-lock" } as Record<string, string>}
                    >
                        {locked ? "Déverrouiller" : "Verrouiller"}
                    </Button>
                    <Button
                        size="small"
                        priority="secondary"
                        className="visio-button--danger"
                        onClick={() => {
                            if (window.confirm("Terminer la réunion pour tous les participants ?")) props.onEnd();
                        }}
                    >
                        Terminer pour tous
                    </Button>
                </div>
            )}
            {canModerate && lobby.length > 0 && (
                <section aria-labelledby="visio-lobby-title" className={fr.cx("fr-mb-3w")}>
                    <h3 id="visio-lobby-title" className={fr.cx("fr-h6", "fr-mb-1w")}>
                        Salle d'attente ({lobby.length})
                    </h3>
                    <LobbyList lobby={lobby} onAdmit={onAdmit} onDeny={onDeny} />
                </section>
            )}
            <h3 className={fr.cx("fr-h6", "fr-mb-1w")} data-testid="visio-participant-count">
                Dans la réunion ({total})
            </h3>
            {total > participants.length && <p className={fr.cx("fr-text--sm", "fr-mb-1w")}>Seuls les organisateurs et les intervenants sont listés.</p>}
            <ul className="visio-people" data-testid="visio-participant-list">
                {participants.map((p) => (
                    <li key={p.id} className="visio-person" data-speaking={speaking.includes(p.id) ? "true" : "false"}>
                        <span className="visio-person__avatar" aria-hidden="true">
                            {initials(p.name)}
                        </span>
                        <span className="visio-person__name">
                            {p.name}
                            {p.id === selfId && " (vous)"}
                            <span className="visio-person__meta">
                                {[roleLabel(p.role) || (p.guest ? "Invité" : null), p.external && !p.guest ? "Partenaire externe" : null]
                                    .filter(Boolean)
                                    .join(" · ")}
                            </span>
                        </span>
                        <span className="visio-person__icons">
                            {reactions[p.id] && (
                                <span role="img" aria-label={`Réaction : ${reactions[p.id]}`}>
                                    {reactions[p.id]}
                                </span>
                            )}
                            {p.hand && <span className={fr.cx("ri-hand", "fr-icon--sm")} role="img" aria-label="Main levée" title="Main levée" />}
                            {p.audio_muted && (
                                <span className={fr.cx("ri-mic-off-line", "fr-icon--sm")} role="img" aria-label="Micro coupé" title="Micro coupé" />
                            )}
                            {p.video_muted && (
                                <span className={fr.cx("ri-camera-off-line", "fr-icon--sm")} role="img" aria-label="Caméra coupée" title="Caméra coupée" />
                            )}
                        </span>
                        {canModerate && p.id !== selfId && (selfIsHost || p.role !== "host") && (
                            <span className="visio-person__actions visio-person__actions--moderation">
                                {webinar && p.role === "attendee" && (
                                    <Button size="small" priority="tertiary" onClick={() => props.onPromote(p.id)}>
                                        Donner la parole
                                    </Button>
                                )}
                                {webinar && p.role === "speaker" && (
                                    <Button size="small" priority="tertiary" onClick={() => props.onDemote(p.id)}>
                                        Retirer la parole
                                    </Button>
                                )}
                                {!p.audio_muted && p.role !== "attendee" && (
                                    <Button
                                        size="small"
                                        priority="tertiary"
                                        iconId="ri-mic-off-line"
                                        title={`Couper le micro de ${p.name}`}
                                        onClick={() => props.onModerate("mute", p.id)}
                                    />
                                )}
                                {!p.video_muted && p.role !== "attendee" && (
                                    <Button
                                        size="small"
                                        priority="tertiary"
                                        iconId="ri-camera-off-line"
                                        title={`Couper la caméra de ${p.name}`}
                                        onClick={() => props.onModerate("stop_video", p.id)}
                                    />
                                )}
                                <Button
                                    size="small"
                                    priority="tertiary"
                                    iconId="fr-icon-close-circle-line"
                                    title={`Exclure ${p.name} de la réunion`}
                                    onClick={() => {
                                        if (window.confirm(`Exclure ${p.name} de la réunion ? Cette personne ne pourra plus la rejoindre.`)) props.onModerate("remove", p.id);
                                    }}
                                />
                                {p.guest && (
                                    <Button
                                        size="small"
                                        priority="tertiary"
                                        iconId="fr-icon-link-unlink"
                                        title={`Retirer ${p.name} et bloquer son lien d'invitation`}
                                        onClick={() => {
                                            if (
                                                window.confirm(
                                                    `Retirer ${p.name} et bloquer le lien d'invitation utilisé ? Plus personne ne pourra entrer avec ce lien.`
                                                )
                                            )
                                                props.onModerate("remove_revoke_link", p.id);
                                        }}
                                    >
                                        Retirer et bloquer le lien
                                    </Button>
                                )}
                            </span>
                        )}
                    </li>
                ))}
            </ul>
        </div>
    );
}

export function LobbyList({ lobby, onAdmit, onDeny }: { lobby: Participant[]; onAdmit: (id: string) => void; onDeny: (id: string) => void }) {
    return (
        <ul className="visio-people" data-testid="visio-lobby-list">
            {lobby.map((p) => (
                <li key={p.id} className="visio-person visio-person--lobby">
                    <span className="visio-person__avatar" aria-hidden="true">
                        {initials(p.name)}
                    </span>
                    <span className="visio-person__name">
                        {p.name}
                        <span className="visio-person__meta">{p.guest ? "Invité sans compte" : p.external ? "Partenaire externe" : p.ministry}</span>
                    </span>
                    <span className="visio-person__actions">
                        <Button size="small" onClick={() => onAdmit(p.id)} nativeButtonProps={{ "aria-label": `Admettre ${p.name}` }}>
                            Admettre
                        </Button>
                        <Button size="small" priority="secondary" onClick={() => onDeny(p.id)} nativeButtonProps={{ "aria-label": `Refuser ${p.name}` }}>
                            Refuser
                        </Button>
                    </span>
                </li>
            ))}
        </ul>
    );
}
