import { formatSize, quotaPercent, type Space } from "../../files/api";

/**
 * Space used, as a bar against the quota (or the bare figure when unlimited).
 * The same bar shows the agent's own quota (« Votre quota ») with mine set.
 */
export function QuotaBar({ space, mine = false }: { space: Pick<Space, "used" | "quota">; mine?: boolean }) {
    if (typeof space.used !== "number") return null;
    const label = mine ? "Votre quota" : "Espace utilisé";
    const testId = mine ? "my-quota" : "quota";
    const pct = quotaPercent(space);
    if (pct === null) {
        return (
            <p className="fr-text--xs fr-mb-1w bureau-muted" data-testid={testId}>
                {mine ? "Votre quota : " : ""}
                {formatSize(space.used)} utilisés · sans limite
            </p>
        );
    }
    const level = pct >= 95 ? " bureau-progress--error" : pct >= 80 ? " bureau-progress--warning" : "";
    const full = mine
        ? " — votre quota personnel est atteint : supprimez des fichiers que vous avez déposés pour déposer à nouveau."
        : " — l'espace est plein : supprimez ou videz la corbeille pour déposer à nouveau.";
    return (
        <div className="bureau-files__quota" data-testid={testId}>
            <div className="bureau-files__quota-line fr-text--xs fr-mb-1v">
                <span>{label}</span>
                <span>{pct} %</span>
            </div>
            <progress
                className={"bureau-progress" + level}
                max={100}
                value={pct}
                aria-label={label}
                aria-valuetext={`${formatSize(space.used)} sur ${formatSize(space.quota!)}`}
            />
            <p className="fr-text--xs fr-mb-0 bureau-muted">
                {formatSize(space.used)} utilisés sur {formatSize(space.quota!)}
                {pct >= 100 ? full : ""}
            </p>
        </div>
    );
}
