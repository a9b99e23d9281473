import { formatSize, quotaPercent, type Space } from "../../files/api";

/** Space used, as a bar against the quota (or the bare figure when unlimited). */
export function QuotaBar({ space }: { space: Space }) {
    if (typeof space.used !== "number") return null;
    const pct = quotaPercent(space);
    if (pct === null) {
        return (
            <p className="fr-text--xs fr-mb-1w bureau-muted" data-testid="quota">
                {formatSize(space.used)} utilisés · sans limite
            </p>
        );
    }
    const level = pct >= 95 ? " bureau-progress--error" : pct >= 80 ? " bureau-progress--warning" : "";
    return (
        <div className="bureau-files__quota" data-testid="quota">
            <div className="bureau-files__quota-line fr-text--xs fr-mb-1v">
                <span>Espace utilisé</span>
                <span>{pct} %</span>
            </div>
            <progress
                className={"bureau-progress" + level}
                max={100}
                value={pct}
                aria-label="Espace utilisé"
                aria-valuetext={`${formatSize(space.used)} sur ${formatSize(space.quota!)}`}
            />
            <p className="fr-text--xs fr-mb-0 bureau-muted">
                {formatSize(space.used)} utilisés sur {formatSize(space.quota!)}
                {pct >= 100 ? " — l'espace est plein : supprimez ou videz la corbeille pour déposer à nouveau." : ""}
            </p>
        </div>
    );
}
