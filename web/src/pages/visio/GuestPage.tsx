// The page a guest link opens (/visio/invite#<token>): someone without an
// account gives their name, checks camera and microphone, then waits in the
// lobby until an organiser admits them. The token stays in the fragment, so
// it never reaches access logs when the page loads.
import { useCallback, useEffect, useMemo, useState, type FormEvent, type InputHTMLAttributes } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Alert } from "@codegouvfr/react-dsfr/Alert";
import { Button } from "@codegouvfr/react-dsfr/Button";
import { Input } from "@codegouvfr/react-dsfr/Input";
import { getGuestRoom, type GuestRoom } from "../../visio/api";
import { guestSocketUrl } from "../../visio/client";
import { MAX_GUEST_NAME as MAX_NAME, guestToken, normaliseGuestName } from "../../visio/guest";
import { Meeting, type LeftReason } from "../../components/visio/Meeting";
import { PreJoin, type JoinChoice } from "../../components/visio/PreJoin";
import { EndedNotice, canRejoin } from "./EndedNotice";
import "../../visio/visio.css";


type Stage = { kind: "name" } | { kind: "prejoin"; name: string } | { kind: "meeting"; name: string; choice: JoinChoice } | { kind: "ended"; reason: LeftReason };

export function GuestPage() {
    const token = useMemo(() => guestToken(location.hash), []);
    const [room, setRoom] = useState<GuestRoom | null>(null);
    const [error, setError] = useState<string | null>(token ? null : "Ce lien d'invitation est incomplet : vérifiez qu'il a été copié en entier.");
    const [stage, setStage] = useState<Stage>({ kind: "name" });
    const [name, setName] = useState("");
    const [nameError, setNameError] = useState<string | null>(null);

    useEffect(() => {
        if (!token) return;
        let cancelled = false;
        getGuestRoom(token).then(
            (r) => !cancelled && setRoom(r),
            (err: unknown) => !cancelled && setError(err instanceof Error ? err.message : String(err))
        );
        return () => {
            cancelled = true;
        };
    }, [token]);

    useEffect(() => {
        document.title = `${room?.title || "Invitation"} - Visio - Bureau`;
    }, [room]);

    const onLeft = useCallback((reason: LeftReason) => setStage({ kind: "ended", reason }), []);

    if (error) {
        return <Alert severity="error" title="Impossible de rejoindre la réunion" description={error} data-testid="visio-guest-error" />;
    }
    if (!room) {
        return (
            <div className="bureau-loading" role="status" aria-live="polite">
                <span className="bureau-spinner" aria-hidden="true" />
                Chargement de l'invitation…
            </div>
        );
    }

    const submitName = (e: FormEvent) => {
        e.preventDefault();
        const n = normaliseGuestName(name);
        if (!n) {
            setNameError(`Indiquez votre nom et votre prénom (1 à ${MAX_NAME} caractères).`);
            return;
        }
        setNameError(null);
        setStage({ kind: "prejoin", name: n });
    };

    switch (stage.kind) {
        case "name":
            return (
                <div className="visio-home" data-testid="visio-guest">
                    <h1 className={fr.cx("fr-h3")}>{room.title}</h1>
                    <p className={fr.cx("fr-text--lead")}>
                        {room.host_name} vous invite à cette {room.kind === "webinar" ? "diffusion (webinaire)" : "réunion"}.
                    </p>
                    {room.starts_at && (
                        <p>
                            Prévue le {new Date(room.starts_at).toLocaleString("fr-FR", { dateStyle: "full", timeStyle: "short" })}
                            {room.ends_at && ` jusqu'à ${new Date(room.ends_at).toLocaleTimeString("fr-FR", { timeStyle: "short" })}`}.
                        </p>
                    )}
                    <div className="visio-card">
                        <form onSubmit={submitName}>
                            <Input
                                label="Votre nom"
                                hintText="Il sera affiché aux participants, avec la mention « invité »."
                                state={nameError ? "error" : "default"}
                                stateRelatedMessage={nameError ?? undefined}
                                nativeInputProps={{
                                    value: name,
                                    maxLength: MAX_NAME + 16,
                                    autoComplete: "name",
                                    onChange: (e) => setName(e.target.value),
                                    "data-testid": "visio-guest-name"
                                } as InputHTMLAttributes<HTMLInputElement>}
                            />
                            <p className={fr.cx("fr-text--sm")}>Un organisateur devra vous admettre avant que vous n'entriez dans la réunion.</p>
                            <Button type="submit" iconId="fr-icon-arrow-right-line" iconPosition="right" nativeButtonProps={{ "data-testid": "visio-guest-continue" } as Record<string, string>}>
                                Continuer
                            </Button>
                        </form>
                    </div>
                </div>
            );
        case "prejoin":
            return (
                <PreJoin
                    title={room.title}
                    admissionNote={`Vous entrerez sous le nom « ${stage.name} » (invité), après l'accord d'un organisateur.`}
                    onJoin={(choice) => setStage({ kind: "meeting", name: stage.name, choice })}
                    onCancel={() => setStage({ kind: "name" })}
                />
            );
        case "meeting":
            return (
                <Meeting
                    roomId={room.id}
                    title={room.title}
                    link=""
                    choice={stage.choice}
                    onLeft={onLeft}
                    socketUrl={guestSocketUrl(location, token, stage.name)}
                />
            );
        case "ended":
            return (
                <div className="visio-waiting" data-testid="visio-ended">
                    <EndedNotice reason={stage.reason} />
                    {canRejoin(stage.reason) && (
                        <div className="visio-actions visio-actions--center">
                            <Button onClick={() => setStage({ kind: "name" })}>Rejoindre à nouveau</Button>
                        </div>
                    )}
                </div>
            );
    }
}
