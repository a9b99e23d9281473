import { fr } from "@codegouvfr/react-dsfr";
import { roleLabel, type Participant } from "../../visio/protocol";
import { StreamVideo } from "./MediaElements";

export function initials(name: string): string {
    const parts = name.trim().split(/\s+/).filter(Boolean);
    const s = (parts[0]?.[0] ?? "") + (parts.length > 1 ? parts[parts.length - 1][0] : "");
    return s.toUpperCase() || "?";
}

type Props = {
    participant: Participant;
    source: "camera" | "screen";
    stream: MediaStream | null;
    self: boolean;
    speaking: boolean;
    /** An emoji reaction on show. */
    reaction?: string;
    /** Remote tiles: reports the rendered size (simulcast layer choice). */
    onSize?: (width: number, height: number) => void;
};

/** One participant's video (or their initials), with name, mute, hand and speaking cues. */
export function VideoTile({ participant: p, source, stream, self, speaking, reaction, onSize }: Props) {
    const screen = source === "screen";
    const showVideo = stream !== null && (screen || !p.video_muted);
    const name = (self ? `${p.name} (vous)` : p.name) + (screen ? " — écran partagé" : "");
    return (
        <figure
            className="visio-tile"
            data-visio-tile
            data-participant={p.id}
            data-source={source}
            data-has-video={showVideo ? "true" : "false"}
            data-speaking={speaking && !screen ? "true" : "false"}
            aria-label={name}
        >
            {showVideo ? (
                <StreamVideo stream={stream} mirrored={self && !screen} onSize={onSize} className={screen ? "visio-tile__video visio-tile__video--contain" : "visio-tile__video"} />
            ) : (
                <div className="visio-tile__avatar" aria-hidden="true">
                    <span>{initials(p.name)}</span>
                </div>
            )}
            <figcaption className="visio-tile__caption">
                {!screen && p.audio_muted && (
                    <span className={fr.cx("ri-mic-off-fill", "fr-icon--sm")} role="img" aria-label="Micro coupé" title="Micro coupé" />
                )}
                <span className="visio-tile__name">{name}</span>
                {roleLabel(p.role) && p.role !== "participant" && !screen && <span className="visio-tile__role">{roleLabel(p.role)}</span>}
            </figcaption>
            {reaction && (
                <span className="visio-tile__reaction" role="img" aria-label={`Réaction : ${reaction}`} data-testid="visio-reaction">
                    {reaction}
                </span>
            )}
            {!screen && p.hand && (
                <span className="visio-tile__hand" role="img" aria-label="Main levée" title="Main levée">
                    <span className={fr.cx("ri-hand", "fr-icon--sm")} aria-hidden="true" /> Main levée
                </span>
            )}
        </figure>
    );
}
