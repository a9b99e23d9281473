import { useState } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { REACTIONS, type Reaction } from "../../visio/protocol";
import type { FrIconClassName, RiIconClassName } from "@codegouvfr/react-dsfr/fr";

type Props = {
    audioMuted: boolean;
    videoMuted: boolean;
    hasAudio: boolean;
    hasVideo: boolean;
    sharing: boolean;
    canShare: boolean;
    hand: boolean;
    panel: "participants" | "chat" | null;
    unread: number;
    lobbyCount: number;
    disabled: boolean;
    onToggleAudio: () => void;
    onToggleVideo: () => void;
    onToggleShare: () => void;
    onToggleHand: () => void;
    onReact: (emoji: Reaction) => void;
    onPanel: (p: "participants" | "chat") => void;
    onLeave: () => void;
};

function ControlButton({
    icon,
    label,
    pressed,
    active,
    danger,
    disabled,
    badge,
    onClick,
    testId
}: {
    icon: FrIconClassName | RiIconClassName;
    label: string;
    pressed?: boolean;
    active?: boolean;
    danger?: boolean;
    disabled?: boolean;
    badge?: number;
    onClick: () => void;
    testId: string;
}) {
    return (
        <button
            type="button"
            className={fr.cx("fr-btn", active ? undefined : "fr-btn--tertiary", icon, "fr-btn--icon-left") + " visio-control" + (danger ? " visio-control--danger" : "")}
            aria-pressed={pressed}
            title={label}
            disabled={disabled}
            onClick={onClick}
            data-testid={testId}
        >
            <span className="visio-control__label">{label}</span>
            {badge ? (
                <span className="visio-control__badge" aria-label={`${badge} non lu${badge > 1 ? "s" : ""}`}>
                    {badge > 99 ? "99+" : badge}
                </span>
            ) : null}
        </button>
    );
}

/** The meeting's bottom bar. Labels collapse to icons on phones (still read by screen readers via title/aria). */
export function ControlBar(p: Props) {
    const [reacting, setReacting] = useState(false);
    return (
        <div className="visio-controls" role="toolbar" aria-label="Commandes de la réunion">
            <div className="visio-controls__group">
                <ControlButton
                    testId="visio-mic"
                    icon={p.audioMuted || !p.hasAudio ? "ri-mic-off-line" : "ri-mic-line"}
                    label={p.audioMuted || !p.hasAudio ? "Activer le micro" : "Couper le micro"}
                    pressed={p.audioMuted}
                    active={!p.audioMuted && p.hasAudio}
                    disabled={!p.hasAudio || p.disabled}
                    onClick={p.onToggleAudio}
                />
                <ControlButton
                    testId="visio-camera"
                    icon={p.videoMuted || !p.hasVideo ? "ri-camera-off-line" : "ri-vidicon-line"}
                    label={p.videoMuted || !p.hasVideo ? "Activer la caméra" : "Couper la caméra"}
                    pressed={p.videoMuted}
                    active={!p.videoMuted && p.hasVideo}
                    disabled={!p.hasVideo || p.disabled}
                    onClick={p.onToggleVideo}
                />
                {p.canShare && (
                    <ControlButton
                        testId="visio-share"
                        icon="ri-computer-line"
                        label={p.sharing ? "Arrêter le partage" : "Partager l'écran"}
                        pressed={p.sharing}
                        active={p.sharing}
                        disabled={p.disabled}
                        onClick={p.onToggleShare}
                    />
                )}
                <ControlButton
                    testId="visio-hand"
                    icon="ri-hand"
                    label={p.hand ? "Baisser la main" : "Lever la main"}
                    pressed={p.hand}
                    active={p.hand}
                    disabled={p.disabled}
                    onClick={p.onToggleHand}
                />
                <span className="visio-react">
                    <ControlButton
                        testId="visio-react"
                        icon="ri-emotion-line"
                        label="Réagir"
                        pressed={reacting}
                        active={reacting}
                        disabled={p.disabled}
                        onClick={() => setReacting((r) => !r)}
                    />
                    {reacting && !p.disabled && (
                        <span className="visio-react__menu" role="group" aria-label="Réactions">
                            {REACTIONS.map((e) => (
                                <button
                                    key={e}
                                    type="button"
                                    className="visio-react__emoji"
                                    data-testid={`visio-react-${e}`}
                                    aria-label={`Réagir : ${e}`}
                                    onClick={() => {
                                        p.onReact(e);
                                        setReacting(false);
                                    }}
                                >
                                    {e}
                                </button>
                            ))}
                        </span>
                    )}
                </span>
            </div>
            <div className="visio-controls__group">
                <ControlButton
                    testId="visio-participants"
                    icon="ri-group-line"
                    label="Participants"
                    pressed={p.panel === "participants"}
                    active={p.panel === "participants"}
                    badge={p.lobbyCount}
                    onClick={() => p.onPanel("participants")}
                />
                <ControlButton
                    testId="visio-chat"
                    icon="ri-chat-3-line"
                    label="Discussion"
                    pressed={p.panel === "chat"}
                    active={p.panel === "chat"}
                    badge={p.unread}
                    onClick={() => p.onPanel("chat")}
                />
                <ControlButton testId="visio-leave" icon="fr-icon-logout-box-r-line" label="Quitter" active danger onClick={p.onLeave} />
            </div>
        </div>
    );
}
