// Search by name across all the agent's spaces: debounced, each hit with its
// space and folder; a click opens the folder (a file's containing folder).
import { useEffect, useState } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Alert } from "@codegouvfr/react-dsfr/Alert";
import { Button } from "@codegouvfr/react-dsfr/Button";
import { Input } from "@codegouvfr/react-dsfr/Input";
import { errorMessage, filesApi, formatSize, hitLocation, locationPath, type SearchHit } from "../../files/api";
import { Link } from "../../router";
import { ScanBadge } from "./ScanBadge";

export function FileSearch({ autoFocus = false }: { autoFocus?: boolean }) {
    const [q, setQ] = useState("");
    const [hits, setHits] = useState<SearchHit[] | null>(null);
    const [error, setError] = useState("");
    const [loading, setLoading] = useState(false);
    const [next, setNext] = useState<string | undefined>();
    const [more, setMore] = useState(false);

    // 300 ms after the last key; each new query aborts the previous request.
    useEffect(() => {
        const query = q.trim();
        if (query === "") {
            setHits(null);
            setError("");
            setLoading(false);
            return;
        }
        const ctl = new AbortController();
        setLoading(true);
        const timer = setTimeout(() => {
            filesApi
                .search(query, ctl.signal)
                .then((r) => {
                    setHits(r.items);
                    setNext(r.next);
                    setError("");
                })
                .catch((err) => !ctl.signal.aborted && setError(errorMessage(err)))
                .finally(() => !ctl.signal.aborted && setLoading(false));
        }, 300);
        return () => {
            clearTimeout(timer);
            ctl.abort();
        };
    }, [q]);

    // « Plus de résultats »: the next page after the service's cursor.
    const loadMore = async () => {
        if (!next) return;
        setMore(true);
        try {
            const r = await filesApi.search(q.trim(), undefined, 50, next);
            setHits((h) => [...(h ?? []), ...r.items]);
            setNext(r.next);
        } catch (err) {
            setError(errorMessage(err));
        } finally {
            setMore(false);
        }
    };

    return (
        <section className="bureau-files__search fr-mb-2w" role="search" aria-label="Rechercher des fichiers">
            <Input
                label="Rechercher dans tous mes espaces"
                className={fr.cx("fr-mb-1w")}
                nativeInputProps={{ value: q, onChange: (e) => setQ(e.target.value), type: "search", autoComplete: "off", name: "files-search", autoFocus, placeholder: "Nom d'un fichier ou d'un dossier" }}
            />
            {error && <Alert severity="error" small description={error} />}
            {loading && !hits && <p className="fr-text--sm bureau-muted">Recherche…</p>}
            {hits && !error && q.trim() !== "" && (
                <div aria-live="polite">
                    {hits.length === 0 ? (
                        <p className="fr-text--sm bureau-muted">Aucun fichier ni dossier ne correspond.</p>
                    ) : (
                        <ul className="bureau-files__hits" data-testid="search-results">
                            {hits.map((h) => (
                                <li key={h.id} data-hit-name={h.name}>
                                    <span
                                        className={fr.cx(h.kind === "folder" ? "fr-icon-folder-2-fill" : "fr-icon-file-line", "fr-icon--sm", "fr-mr-1w")}
                                        aria-hidden="true"
                                    />
                                    <Link href={locationPath(hitLocation(h))} className="fr-link">
                                        {h.name}
                                    </Link>
                                    <ScanBadge scan={h.scan} />
                                    <span className="fr-text--xs bureau-muted bureau-files__hit-where">
                                        {h.space_name} · {h.path}
                                        {h.kind === "file" ? ` · ${formatSize(h.size)}` : ""}
                                    </span>
                                </li>
                            ))}
                        </ul>
                    )}
                    {next && (
                        <Button priority="secondary" size="small" disabled={more} onClick={() => void loadMore()}>
                            {more ? "Recherche…" : "Plus de résultats"}
                        </Button>
                    )}
                </div>
            )}
        </section>
    );
}
