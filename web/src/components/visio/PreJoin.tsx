import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Alert } from "@codegouvfr/react-dsfr/Alert";
import { Button } from "@codegouvfr/react-dsfr/Button";
import { Select } from "@codegouvfr/react-dsfr/Select";
import { ToggleSwitch } from "@codegouvfr/react-dsfr/ToggleSwitch";
import type { LocalTracks } from "../../visio/client";
import { StreamVideo } from "./MediaElements";

export type JoinChoice = { tracks: LocalTracks; muted: { audio: boolean; video: boolean } };

type Props = {
    title: string;
    admissionNote: string | null;
    onJoin: (c: JoinChoice) => void;
    onCancel: () => void;
};

function mediaError(err: unknown, what: string): string {
    const name = err instanceof DOMException ? err.name : "";
    if (name === "NotAllowedError" || name === "SecurityError")
        return `L'accès ${what} a été refusé. Autorisez-le dans les réglages du navigateur, ou rejoignez sans.`;
    if (name === "NotFoundError" || name === "OverconstrainedError") return `Aucun périphérique ${what === "au micro" ? "audio" : "vidéo"} n'a été trouvé.`;
    if (name === "NotReadableError") return `Le périphérique est déjà utilisé par une autre application (accès ${what}).`;
    return `Impossible d'accéder ${what}.`;
}

const VIDEO: MediaTrackConstraints = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };

/** Camera and microphone preview, device choice and toggles before entering. */
export function PreJoin({ title, admissionNote, onJoin, onCancel }: Props) {
    const [mic, setMic] = useState<MediaStreamTrack | null>(null);
    const [cam, setCam] = useState<MediaStreamTrack | null>(null);
    const [audioOn, setAudioOn] = useState(true);
    const [videoOn, setVideoOn] = useState(true);
    const [devices, setDevices] = useState<MediaDeviceInfo[]>([]);
    const [micId, setMicId] = useState("");
    const [camId, setCamId] = useState("");
    const [errors, setErrors] = useState<{ audio?: string; video?: string }>({});
    const [busy, setBusy] = useState(true);
    const tracks = useRef<{ mic: MediaStreamTrack | null; cam: MediaStreamTrack | null; handedOff: boolean }>({ mic: null, cam: null, handedOff: false });

    const supported = typeof navigator !== "undefined" && !!navigator.mediaDevices?.getUserMedia;

    const refreshDevices = useCallback(async () => {
        try {
            setDevices(await navigator.mediaDevices.enumerateDevices());
        } catch {
            /* no device list: selects stay hidden */
        }
    }, []);

    const acquire = useCallback(
        async (kind: "audio" | "video", deviceId: string) => {
            const constraints: MediaStreamConstraints =
                kind === "audio"
                    ? { audio: deviceId ? { deviceId: { exact: deviceId } } : true }
                    : { video: deviceId ? { ...VIDEO, deviceId: { exact: deviceId } } : VIDEO };
            try {
                const s = await navigator.mediaDevices.getUserMedia(constraints);
                const t = kind === "audio" ? s.getAudioTracks()[0] : s.getVideoTracks()[0];
                const slot = kind === "audio" ? "mic" : "cam";
                tracks.current[slot]?.stop();
                tracks.current[slot] = t ?? null;
                if (kind === "audio") setMic(t ?? null);
                else setCam(t ?? null);
                setErrors((e) => ({ ...e, [kind]: undefined }));
            } catch (err) {
                setErrors((e) => ({ ...e, [kind]: mediaError(err, kind === "audio" ? "au micro" : "à la caméra") }));
            }
        },
        []
    );

    useEffect(() => {
        if (!supported) {
            setBusy(false);
            return;
        }
        let cancelled = false;
        (async () => {
            // One prompt for both when possible, then one device at a time.
            try {
                const s = await navigator.mediaDevices.getUserMedia({ audio: true, video: VIDEO });
                if (cancelled) {
                    s.getTracks().forEach((t) => t.stop());
                    return;
                }
                tracks.current.mic = s.getAudioTracks()[0] ?? null;
                tracks.current.cam = s.getVideoTracks()[0] ?? null;
                setMic(tracks.current.mic);
                setCam(tracks.current.cam);
            } catch {
                if (cancelled) return;
                await acquire("audio", "");
                await acquire("video", "");
            }
            if (cancelled) return;
            await refreshDevices();
            setBusy(false);
        })();
        navigator.mediaDevices.addEventListener?.("devicechange", refreshDevices);
        const current = tracks.current;
        return () => {
            cancelled = true;
            navigator.mediaDevices.removeEventListener?.("devicechange", refreshDevices);
            if (!current.handedOff) {
                current.mic?.stop();
                current.cam?.stop();
            }
        };
    }, [supported, acquire, refreshDevices]);

    const preview = useMemo(() => (cam ? new MediaStream([cam]) : null), [cam]);

    const mics = devices.filter((d) => d.kind === "audioinput");
    const cams = devices.filter((d) => d.kind === "videoinput");
    const currentMic = micId || mic?.getSettings().deviceId || "";
    const currentCam = camId || cam?.getSettings().deviceId || "";

    const join = () => {
        tracks.current.handedOff = true;
        if (mic) mic.enabled = audioOn;
        if (cam) cam.enabled = videoOn;
        onJoin({
            tracks: { microphone: mic ?? undefined, camera: cam ?? undefined },
            muted: { audio: !audioOn || !mic, video: !videoOn || !cam }
        });
    };

    return (
        <div className="visio-prejoin" data-testid="visio-prejoin">
            <div className="visio-prejoin__preview">
                <div className="visio-tile visio-tile--preview">
                    {cam && videoOn ? (
                        <StreamVideo stream={preview} mirrored className="visio-tile__video" />
                    ) : (
                        <div className="visio-tile__avatar">
                            <span className={fr.cx("ri-camera-off-line")} aria-hidden="true" />
                            <p className="visio-tile__avatar-text">{busy ? "Activation de la caméra…" : "Caméra désactivée"}</p>
                        </div>
                    )}
                </div>
            </div>
            <div className="visio-prejoin__settings">
                <h1 className={fr.cx("fr-h3", "fr-mb-1w")}>{title || "Réunion"}</h1>
                <p className={fr.cx("fr-text--sm", "fr-mb-2w")}>Vérifiez votre caméra et votre micro avant d'entrer.</p>
                {!supported && (
                    <Alert
                        severity="warning"
                        small
                        className={fr.cx("fr-mb-2w")}
                        description="Ce navigateur ne permet pas d'utiliser la caméra ni le micro (une connexion sécurisée HTTPS est nécessaire). Vous pouvez rejoindre sans."
                    />
                )}
                {errors.video && <Alert severity="warning" small className={fr.cx("fr-mb-2w")} description={errors.video} />}
                {errors.audio && <Alert severity="warning" small className={fr.cx("fr-mb-2w")} description={errors.audio} />}
                {cams.length > 0 && (
                    <Select
                        label="Caméra"
                        nativeSelectProps={{
                            value: currentCam,
                            onChange: (e) => {
                                setCamId(e.target.value);
                                void acquire("video", e.target.value);
                            }
                        }}
                    >
                        {cams.map((d, i) => (
                            <option key={d.deviceId || i} value={d.deviceId}>
                                {d.label || `Caméra ${i + 1}`}
                            </option>
                        ))}
                    </Select>
                )}
                {mics.length > 0 && (
                    <Select
                        label="Micro"
                        nativeSelectProps={{
                            value: currentMic,
                            onChange: (e) => {
                                setMicId(e.target.value);
                                void acquire("audio", e.target.value);
                            }
                        }}
                    >
                        {mics.map((d, i) => (
                            <option key={d.deviceId || i} value={d.deviceId}>
                                {d.label || `Micro ${i + 1}`}
                            </option>
                        ))}
                    </Select>
                )}
                <ToggleSwitch
                    label="Caméra activée"
                    inputTitle="Caméra activée"
                    checked={videoOn && !!cam}
                    disabled={!cam}
                    onChange={setVideoOn}
                    showCheckedHint={false}
                />
                <ToggleSwitch
                    label="Micro activé"
                    inputTitle="Micro activé"
                    checked={audioOn && !!mic}
                    disabled={!mic}
                    onChange={setAudioOn}
                    showCheckedHint={false}
                />
                {admissionNote && <p className={fr.cx("fr-text--sm", "fr-mt-2w", "fr-mb-0")}>{admissionNote}</p>}
                <div className="visio-prejoin__actions">
                    <Button onClick={join} disabled={busy} iconId="ri-vidicon-line" nativeButtonProps={{ "data-testid": "visio-join" } as Record<string, string>}>
                        Rejoindre
                    </Button>
                    <Button priority="secondary" onClick={onCancel}>
                        Annuler
                    </Button>
                </div>
            </div>
        </div>
    );
}
