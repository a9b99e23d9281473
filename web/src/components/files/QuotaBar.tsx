import { formatSize, quotaPercent, type Space } from "../../files/api";

/** Usage of a space, only when the service tells its quota. */
export function QuotaBar({ space }: { space: Space }) {
    const pct = quotaPercent(space);
    if (pct === null) return null;
    return (
        <div className="bureau-files__quota">
            <progress className="bureau-progress" max={100} value={pct} aria-label={`Espace utilisé : ${pct} %`} />
            <p className="fr-text--xs fr-mb-0">
                {formatSize(space.usage!)} utilisés sur {formatSize(space.quota!)} ({pct} %)
            </p>
        </div>
    );
}
