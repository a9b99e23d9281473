// "Mes réunions": the scheduled meetings I host or am invited to, with
// their link, a guest link for organisers, and cancellation for the host.
import { useCallback, useEffect, useState } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Alert } from "@codegouvfr/react-dsfr/Alert";
import { Button } from "@codegouvfr/react-dsfr/Button";
import { navigate } from "../../router";
import { cancelRoom, createGuestLink, listRooms, roomLink, type GuestLink, type RoomDetails } from "../../visio/api";
import { CopyLink } from "../../components/visio/CopyLink";

/** "mardi 3 décembre 2030, 09:00 – 10:00". */
export function scheduleLabel(r: Pick<RoomDetails, "starts_at" | "ends_at">): string {
    if (!r.starts_at) return "Réunion instantanée";
    const s = new Date(r.starts_at);
    const day = s.toLocaleDateString("fr-FR", { weekday: "long", day: "numeric", month: "long", year: "numeric" });
    const time = (d: Date) => d.toLocaleTimeString("fr-FR", { hour: "2-digit", minute: "2-digit" });
    return r.ends_at ? `${day}, ${time(s)} – ${time(new Date(r.ends_at))}` : `${day}, ${time(s)}`;
}

/** Button that makes a guest link (valid 30 days by default) and shows it to copy. */
export function GuestLinkButton({ roomId }: { roomId: string }) {
    const [link, setLink] = useState<GuestLink | null>(null);
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState<string | null>(null);
    const make = async () => {
        setBusy(true);
        setError(null);
        try {
            setLink(await createGuestLink(roomId, new Date(Date.now() + 30 * 24 * 3600_000).toISOString()));
        } catch (err) {
            setError(err instanceof Error ? err.message : String(err));
        } finally {
            setBusy(false);
        }
    };
    if (link?.url) {
        return (
            <div className={fr.cx("fr-mt-2w")}>
                <CopyLink link={link.url} id={`guest-${roomId}`} label="Lien invité (personnes sans compte, valable 30 jours)" testId="visio-guest-link" />
                <p className={fr.cx("fr-text--xs", "fr-mb-0")}>Les invités attendront dans la salle d'attente que vous les admettiez.</p>
            </div>
        );
    }
    return (
        <>
            <Button size="small" priority="tertiary" iconId="ri-user-shared-line" disabled={busy} onClick={() => void make()} nativeButtonProps={{ "data-testid": "visio-make-guest-link" } as Record<string, string>}>
                {busy ? "Création…" : "Lien invité"}
            </Button>
            {error && <Alert severity="error" small className={fr.cx("fr-mt-1w")} description={error} />}
        </>
    );
}

type State = { status: "loading" } | { status: "error"; message: string } | { status: "ready"; rooms: RoomDetails[] };

/** The upcoming scheduled meetings; reload bumps when one is created. */
export function MyMeetings({ reload }: { reload: number }) {
    const [state, setState] = useState<State>({ status: "loading" });
    const [cancelError, setCancelError] = useState<string | null>(null);

    const load = useCallback(async () => {
        try {
            setState({ status: "ready", rooms: await listRooms(true) });
        } catch (err) {
            setState({ status: "error", message: err instanceof Error ? err.message : String(err) });
        }
    }, []);
    useEffect(() => {
        void load();
    }, [load, reload]);

    const cancel = async (r: RoomDetails) => {
        if (!window.confirm(`Annuler « ${r.title} » ? Son lien et ses liens invités ne fonctionneront plus.`)) return;
        setCancelError(null);
        try {
            await cancelRoom(r.id);
            await load();
        } catch (err) {
            setCancelError(err instanceof Error ? err.message : String(err));
        }
    };

    return (
        <section className={fr.cx("fr-mt-6w")} aria-labelledby="visio-mine">
            <h2 id="visio-mine" className={fr.cx("fr-h4")}>
                Mes réunions programmées
            </h2>
            {cancelError && <Alert severity="error" small className={fr.cx("fr-mb-2w")} description={cancelError} />}
            {state.status === "loading" && (
                <div className="bureau-loading" role="status">
                    <span className="bureau-spinner" aria-hidden="true" />
                    Chargement de vos réunions…
                </div>
            )}
            {state.status === "error" && <Alert severity="error" small description={state.message} />}
            {state.status === "ready" && state.rooms.length === 0 && (
                <p data-testid="visio-mine-empty">Aucune réunion programmée. Programmez-en une ci-dessus : elle apparaîtra ici, ainsi que celles où l'on vous invite.</p>
            )}
            {state.status === "ready" && state.rooms.length > 0 && (
                <ul className="visio-mine" data-testid="visio-mine">
                    {state.rooms.map((r) => (
                        <li key={r.id} className="visio-card fr-mb-2w">
                            <h3 className={fr.cx("fr-h6", "fr-mb-1v")}>{r.title}</h3>
                            <p className={fr.cx("fr-text--sm", "fr-mb-1w")}>
                                {scheduleLabel(r)}
                                {r.role === "host" ? " · vous organisez" : ` · organisée par ${r.host_name}`}
                            </p>
                            <CopyLink link={roomLink(r.id, r)} id={`link-${r.id}`} testId="visio-mine-link" />
                            <div className="visio-actions">
                                <Button size="small" iconId="ri-vidicon-line" onClick={() => navigate(`/visio/${r.id}`)}>
                                    Entrer
                                </Button>
                                {(r.role === "host" || r.role === "moderator") && <GuestLinkButton roomId={r.id} />}
                                {r.role === "host" && (
                                    <Button size="small" priority="secondary" onClick={() => void cancel(r)}>
                                        Annuler la réunion
                                    </Button>
                                )}
                            </div>
                        </li>
                    ))}
                </ul>
            )}
        </section>
    );
}
