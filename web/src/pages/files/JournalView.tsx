// « Journal »: a space's audit log for its managers and owners — who did
// what, when — newest first, filtered by kind of action, by pages.
import { useEffect, useState } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Alert } from "@codegouvfr/react-dsfr/Alert";
import { Button } from "@codegouvfr/react-dsfr/Button";
import { Select } from "@codegouvfr/react-dsfr/Select";
import { AUDIT_FILTERS, auditActor, auditLabel, errorMessage, filesApi, formatDate, type AuditEntry } from "../../files/api";
import { LoadError } from "./SpaceList";
import { Empty, Loading } from "./TrashView";

type State = { status: "loading" } | { status: "error"; message: string } | { status: "ok"; entries: AuditEntry[]; next?: string };

export function JournalView({ space, meId, reloadKey }: { space: string; meId: string; reloadKey: number }) {
    const [filter, setFilter] = useState(0);
    const [state, setState] = useState<State>({ status: "loading" });
    const [tick, setTick] = useState(0);
    const [more, setMore] = useState<{ busy: boolean; error: string }>({ busy: false, error: "" });
    const actions = AUDIT_FILTERS[filter].actions;

    useEffect(() => {
        const ctl = new AbortController();
        setState((s) => (s.status === "ok" ? s : { status: "loading" }));
        filesApi
            .audit(space, actions, "", ctl.signal)
            .then((p) => setState({ status: "ok", entries: p.entries, next: p.next }))
            .catch((err) => !ctl.signal.aborted && setState({ status: "error", message: errorMessage(err) }));
        return () => ctl.abort();
        // eslint-disable-next-line react-hooks/exhaustive-deps
    }, [space, filter, reloadKey, tick]);

    const loadMore = async () => {
        if (state.status !== "ok" || !state.next) return;
        setMore({ busy: true, error: "" });
        try {
            const p = await filesApi.audit(space, actions, state.next);
            setState({ status: "ok", entries: [...state.entries, ...p.entries], next: p.next });
            setMore({ busy: false, error: "" });
        } catch (err) {
            setMore({ busy: false, error: errorMessage(err) });
        }
    };

    return (
        <section aria-label="Journal de l'espace" data-testid="journal">
            <p className="fr-text--sm bureau-muted">Qui a déposé, téléchargé, partagé, déplacé ou supprimé quoi, et quand. Visible des gestionnaires et propriétaires.</p>
            <Select
                label="Afficher"
                className="bureau-files__journal-filter"
                nativeSelectProps={{ value: String(filter), name: "journal-filter", onChange: (e) => (setFilter(Number(e.target.value)), setState({ status: "loading" })) }}
            >
                {AUDIT_FILTERS.map((f, i) => (
                    <option key={f.label} value={i}>
                        {f.label}
                    </option>
                ))}
            </Select>
            {state.status === "loading" && <Loading />}
            {state.status === "error" && <LoadError message={state.message} retry={() => setTick((t) => t + 1)} />}
            {state.status === "ok" &&
                (state.entries.length === 0 ? (
                    <Empty text={filter === 0 ? "Le journal est vide" : "Aucune entrée de ce type"} />
                ) : (
                    <>
                        <ul className="bureau-files__journal">
                            {state.entries.map((e) => (
                                <li key={e.id} data-action={e.action}>
                                    <span className="bureau-files__journal-when fr-text--xs bureau-muted">{formatDate(e.at)}</span>
                                    <span className="bureau-files__journal-what">
                                        <strong>{auditActor(e, meId)}</strong> {auditLabel(e.action)}
                                        {e.detail ? <> « {e.detail} »</> : null}
                                    </span>
                                </li>
                            ))}
                        </ul>
                        {more.error && <Alert severity="error" small description={more.error} className={fr.cx("fr-mb-1w")} />}
                        {state.next && (
                            <Button priority="secondary" disabled={more.busy} onClick={() => void loadMore()}>
                                {more.busy ? "Chargement…" : "Afficher plus"}
                            </Button>
                        )}
                    </>
                ))}
        </section>
    );
}
