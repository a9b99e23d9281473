import { Badge } from "@codegouvfr/react-dsfr/Badge";
import { scanLabel, type ScanState } from "../../files/api";

/** "En cours d'analyse", "Infecté — en quarantaine", "Non analysé"; nothing for clean files. */
export function ScanBadge({ scan }: { scan: ScanState | undefined }) {
    const s = scanLabel(scan);
    if (!s) return null;
    return (
        <Badge as="span" small severity={s.severity} className="bureau-files__badge" data-scan={scan}>
            {s.label}
        </Badge>
    );
}
