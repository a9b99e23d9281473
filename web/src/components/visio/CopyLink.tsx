import { useState } from "react";
import { fr } from "@codegouvfr/react-dsfr";

type Props = {
    link: string;
    compact?: boolean;
    /** For several links on one page (a list of meetings, guest links). */
    id?: string;
    label?: string;
    testId?: string;
};

/** The meeting link, read-only, with a copy button. */
export function CopyLink({ link, compact, id: idProp, label = "Lien de la réunion à partager", testId = "visio-link" }: Props) {
    const [copied, setCopied] = useState<"idle" | "ok" | "error">("idle");
    const id = idProp ?? (compact ? "visio-link-compact" : "visio-link");
    const copy = async () => {
        try {
            await navigator.clipboard.writeText(link);
            setCopied("ok");
        } catch {
            // No clipboard (insecure origin): select the text so the user can copy it.
            const input = document.getElementById(id) as HTMLInputElement | null;
            input?.select();
            setCopied("error");
        }
        setTimeout(() => setCopied("idle"), 3000);
    };
    return (
        <div className={"visio-copy" + (compact ? " visio-copy--compact" : "")}>
            <label className={fr.cx("fr-label", compact ? "fr-sr-only" : undefined)} htmlFor={id}>
                {label}
            </label>
            <div className="visio-copy__row">
                <input id={id} className={fr.cx("fr-input")} readOnly value={link} onFocus={(e) => e.target.select()} data-testid={testId} />
                <button type="button" className={fr.cx("fr-btn", "fr-btn--secondary", "ri-file-copy-line", "fr-btn--icon-left")} onClick={() => void copy()}>
                    {copied === "ok" ? "Copié" : "Copier"}
                </button>
            </div>
            <p className="visio-copy__status fr-sr-only" role="status">
                {copied === "ok" ? "Lien copié dans le presse-papiers." : copied === "error" ? "Copie impossible : sélectionnez le lien et copiez-le." : ""}
            </p>
        </div>
    );
}
