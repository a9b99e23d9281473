// Visio: home (new meeting / join), then for /visio/{id} the pre-join
// screen, the lobby and the meeting. `path` is everything after "/visio".
import { useCallback, useEffect, useState, type FormEvent, type InputHTMLAttributes } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Alert } from "@codegouvfr/react-dsfr/Alert";
import { Button } from "@codegouvfr/react-dsfr/Button";
import { Input } from "@codegouvfr/react-dsfr/Input";
import { navigate } from "../../router";
import { createRoom, getRoom, roomLink, type RoomDetails } from "../../visio/api";
import { isRoomId, roomIdFromInput } from "../../visio/protocol";
import { CopyLink } from "../../components/visio/CopyLink";
import { Meeting, type LeftReason } from "../../components/visio/Meeting";
import { PreJoin, type JoinChoice } from "../../components/visio/PreJoin";
import { Checkbox } from "@codegouvfr/react-dsfr/Checkbox";
import { Select } from "@codegouvfr/react-dsfr/Select";
import { EndedNotice, canRejoin } from "./EndedNotice";
import { GuestLinkButton, MyMeetings, scheduleLabel } from "./MyMeetings";
import { GuestPage } from "./GuestPage";
import "../../visio/visio.css";

export function VisioPage({ path }: { path: string }) {
    const id = path.replace(/^\/+|\/+$/g, "");
    if (id === "") return <VisioHome />;
    if (id === "invite") return <GuestPage />;
    if (!isRoomId(id.toLowerCase())) {
        return (
            <Alert
                severity="error"
                title="Lien de réunion invalide"
                description={
                    <>
                        <p>Ce lien ne correspond à aucune réunion. Vérifiez qu'il a été copié en entier.</p>
                        <Button className={fr.cx("fr-mt-2w")} size="small" priority="secondary" linkProps={{ href: "/visio" }}>
                            Retour à Visio
                        </Button>
                    </>
                }
            />
        );
    }
    return <RoomView key={id} id={id.toLowerCase()} />;
}

function VisioHome() {
    const [title, setTitle] = useState("");
    const [creating, setCreating] = useState(false);
    const [created, setCreated] = useState<RoomDetails | null>(null);
    const [createError, setCreateError] = useState<string | null>(null);
    const [joinInput, setJoinInput] = useState("");
    const [joinError, setJoinError] = useState<string | null>(null);
    const [scheduled, setScheduled] = useState(false);
    const [start, setStart] = useState(() => defaultStart());
    const [minutes, setMinutes] = useState("60");
    const [reload, setReload] = useState(0);

    useEffect(() => {
        document.title = "Visio - Bureau";
    }, []);

    const create = async (e: FormEvent) => {
        e.preventDefault();
        setCreateError(null);
        let when: { starts_at?: string; ends_at?: string } = {};
        if (scheduled) {
            const s = new Date(start); // datetime-local: the browser's time zone
            if (!start || Number.isNaN(s.getTime())) {
                setCreateError("Indiquez la date et l'heure de début.");
                return;
            }
            when = { starts_at: s.toISOString(), ends_at: new Date(s.getTime() + Number(minutes) * 60_000).toISOString() };
        }
        setCreating(true);
        try {
            setCreated(await createRoom({ title, ...when }));
            setReload((n) => n + 1);
        } catch (err) {
            setCreateError(err instanceof Error ? err.message : String(err));
        } finally {
            setCreating(false);
        }
    };

    const join = (e: FormEvent) => {
        e.preventDefault();
        const rid = roomIdFromInput(joinInput);
        if (!rid) {
            setJoinError("Saisissez un lien de réunion (…/visio/abcd-efgh-ijkl-mnop) ou son identifiant.");
            return;
        }
        setJoinError(null);
        navigate(`/visio/${rid}`);
    };

    return (
        <div className="visio-home">
            <h1 className={fr.cx("fr-h2")}>Visio</h1>
            <p className={fr.cx("fr-text--lead", "fr-mb-4w")}>Lancez une réunion en visioconférence ou rejoignez-en une, sans rien installer.</p>
            <div className={fr.cx("fr-grid-row", "fr-grid-row--gutters")}>
                <section className={fr.cx("fr-col-12", "fr-col-md-6")} aria-labelledby="visio-new">
                    <div className="visio-card">
                        <h2 id="visio-new" className={fr.cx("fr-h4")}>
                            Nouvelle réunion
                        </h2>
                        {created ? (
                            <>
                                <Alert
                                    severity="success"
                                    small
                                    className={fr.cx("fr-mb-2w")}
                                    description={`La réunion « ${created.title || "Réunion"} » est prête (${scheduleLabel(created)}). Partagez son lien avec les participants.`}
                                />
                                <CopyLink link={roomLink(created.id, created)} />
                                <GuestLinkButton roomId={created.id} />
                                <div className="visio-actions">
                                    <Button
                                        iconId="ri-vidicon-line"
                                        onClick={() => navigate(`/visio/${created.id}`)}
                                        nativeButtonProps={{ "data-testid": "visio-enter-created" } as Record<string, string>}
                                    >
                                        Entrer dans la réunion
                                    </Button>
                                    <Button priority="secondary" onClick={() => setCreated(null)}>
                                        Créer une autre réunion
                                    </Button>
                                </div>
                            </>
                        ) : (
                            <form onSubmit={create}>
                                <Input
                                    label="Titre de la réunion (facultatif)"
                                    hintText="Par exemple : Point hebdomadaire"
                                    nativeInputProps={{ value: title, maxLength: 200, onChange: (e) => setTitle(e.target.value) }}
                                />
                                <Checkbox
                                    small
                                    className={fr.cx("fr-mb-2w")}
                                    options={[{ label: "Programmer pour plus tard", nativeInputProps: { checked: scheduled, onChange: (e) => setScheduled(e.target.checked), "data-testid": "visio-schedule" } as InputHTMLAttributes<HTMLInputElement> }]}
                                />
                                {scheduled && (
                                    <div className="visio-schedule">
                                        <Input
                                            label="Début"
                                            nativeInputProps={{ type: "datetime-local", value: start, required: true, onChange: (e) => setStart(e.target.value) }}
                                        />
                                        <Select label="Durée" nativeSelectProps={{ value: minutes, onChange: (e) => setMinutes(e.target.value) }}>
                                            {[30, 60, 90, 120, 180, 240, 480].map((m) => (
                                                <option key={m} value={m}>
                                                    {m < 60 ? `${m} min` : `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60}` : ""}`}
                                                </option>
                                            ))}
                                        </Select>
                                    </div>
                                )}
                                {createError && <Alert severity="error" small className={fr.cx("fr-mb-2w")} description={createError} />}
                                <Button type="submit" iconId="fr-icon-add-line" disabled={creating} nativeButtonProps={{ "data-testid": "visio-create" } as Record<string, string>}>
                                    {creating ? "Création…" : scheduled ? "Programmer la réunion" : "Nouvelle réunion"}
                                </Button>
                            </form>
                        )}
                    </div>
                </section>
                <section className={fr.cx("fr-col-12", "fr-col-md-6")} aria-labelledby="visio-join">
                    <div className="visio-card">
                        <h2 id="visio-join" className={fr.cx("fr-h4")}>
                            Rejoindre
                        </h2>
                        <form onSubmit={join}>
                            <Input
                                label="Lien ou identifiant de la réunion"
                                state={joinError ? "error" : "default"}
                                stateRelatedMessage={joinError ?? undefined}
                                nativeInputProps={{
                                    value: joinInput,
                                    placeholder: "abcd-efgh-ijkl-mnop",
                                    autoComplete: "off",
                                    onChange: (e) => setJoinInput(e.target.value)
                                }}
                            />
                            <Button type="submit" priority="secondary" iconId="fr-icon-arrow-right-line" iconPosition="right">
                                Rejoindre
                            </Button>
                        </form>
                    </div>
                </section>
            </div>
            <MyMeetings reload={reload} />
        </div>
    );
}

/** Next full hour, in the datetime-local format of the browser's zone. */
function defaultStart(): string {
    const d = new Date(Date.now() + 3600_000);
    d.setMinutes(0, 0, 0);
    const p = (n: number) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

type Stage = { kind: "prejoin" } | { kind: "meeting"; choice: JoinChoice } | { kind: "ended"; reason: LeftReason };

function RoomView({ id }: { id: string }) {
    const [room, setRoom] = useState<RoomDetails | null>(null);
    const [error, setError] = useState<string | null>(null);
    const [stage, setStage] = useState<Stage>({ kind: "prejoin" });

    useEffect(() => {
        let cancelled = false;
        getRoom(id).then(
            (r) => !cancelled && setRoom(r),
            (err: unknown) => !cancelled && setError(err instanceof Error ? err.message : String(err))
        );
        return () => {
            cancelled = true;
        };
    }, [id]);

    useEffect(() => {
        document.title = `${room?.title || "Réunion"} - Visio - Bureau`;
    }, [room]);

    const onLeft = useCallback((reason: LeftReason) => setStage({ kind: "ended", reason }), []);

    if (error) {
        return (
            <Alert
                severity="error"
                title="Impossible d'ouvrir la réunion"
                description={
                    <>
                        <p>{error}</p>
                        <Button className={fr.cx("fr-mt-2w")} size="small" priority="secondary" linkProps={{ href: "/visio" }}>
                            Retour à Visio
                        </Button>
                    </>
                }
            />
        );
    }
    if (!room) {
        return (
            <div className="bureau-loading" role="status" aria-live="polite">
                <span className="bureau-spinner" aria-hidden="true" />
                Chargement de la réunion…
            </div>
        );
    }

    const link = roomLink(id, room);
    switch (stage.kind) {
        case "prejoin":
            return (
                <PreJoin
                    title={room.title}
                    admissionNote={
                        room.admission === "lobby"
                            ? "Un organisateur devra vous admettre avant que vous n'entriez dans la réunion."
                            : room.connected > 0
                              ? `${room.connected} personne${room.connected > 1 ? "s" : ""} déjà dans la réunion.`
                              : "Personne n'est encore dans la réunion."
                    }
                    onJoin={(choice) => setStage({ kind: "meeting", choice })}
                    onCancel={() => navigate("/visio")}
                />
            );
        case "meeting":
            return <Meeting roomId={id} title={room.title} link={link} choice={stage.choice} onLeft={onLeft} />;
        case "ended":
            return (
                <div className="visio-waiting" data-testid="visio-ended">
                    <EndedNotice reason={stage.reason} />
                    <div className="visio-actions visio-actions--center">
                        {canRejoin(stage.reason) && <Button onClick={() => setStage({ kind: "prejoin" })}>Rejoindre à nouveau</Button>}
                        <Button priority="secondary" linkProps={{ href: "/visio" }}>
                            Retour à Visio
                        </Button>
                    </div>
                </div>
            );
    }
}
