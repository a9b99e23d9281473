import { useState } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Alert } from "@codegouvfr/react-dsfr/Alert";
import { Button } from "@codegouvfr/react-dsfr/Button";
import { Input } from "@codegouvfr/react-dsfr/Input";
import { errorMessage, filesApi, formatSize, quotaPercent, type Space } from "../../files/api";

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

const GIB = 1024 ** 3;

/** « Modifier le quota » for a team space's owners: a size in Go (empty: the default quota). */
export function QuotaEditor({ space, onDone }: { space: Space; onDone: () => void }) {
    const [open, setOpen] = useState(false);
    const [value, setValue] = useState("");
    const [error, setError] = useState("");
    const [busy, setBusy] = useState(false);
    if (space.kind !== "team" || space.role !== "owner") return null;
    if (!open) {
        return (
            <Button size="small" priority="tertiary no outline" iconId="fr-icon-settings-5-line" onClick={() => (setOpen(true), setError(""))}>
                Modifier le quota
            </Button>
        );
    }
    const save = async () => {
        const go = value.trim() === "" ? 0 : Number(value.replace(",", "."));
        if (!Number.isFinite(go) || go < 0) return setError("Indiquez une taille en Go (vide : quota par défaut).");
        setBusy(true);
        try {
            await filesApi.setQuota(space.id, Math.round(go * GIB));
            setOpen(false);
            onDone();
        } catch (err) {
            setError(errorMessage(err));
        } finally {
            setBusy(false);
        }
    };
    return (
        <form
            className="bureau-files__quota-editor fr-mb-2w"
            onSubmit={(e) => {
                e.preventDefault();
                void save();
            }}
        >
            <Input
                label="Quota de l'espace (Go)"
                hintText="Laissez vide pour revenir au quota par défaut."
                nativeInputProps={{ value, onChange: (e) => setValue(e.target.value), inputMode: "decimal", name: "space-quota", autoFocus: true }}
            />
            <div className="bureau-files__toolbar-buttons">
                <Button size="small" type="submit" disabled={busy}>
                    Enregistrer
                </Button>
                <Button size="small" priority="secondary" type="button" onClick={() => setOpen(false)}>
                    Annuler
                </Button>
            </div>
            {error && <Alert severity="error" small description={error} className={fr.cx("fr-mt-1w")} />}
        </form>
    );
}
