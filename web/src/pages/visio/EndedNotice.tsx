import { fr } from "@codegouvfr/react-dsfr";
import { Alert } from "@codegouvfr/react-dsfr/Alert";
import type { LeftReason } from "../../components/visio/Meeting";

/** Why the meeting view closed, for agents and guests alike. */
export function EndedNotice({ reason }: { reason: LeftReason }) {
    switch (reason) {
        case "denied":
            return <Alert severity="error" title="Accès refusé" description="Un organisateur a refusé votre demande d'accès à cette réunion." />;
        case "removed":
            return <Alert severity="error" title="Vous avez été exclu" description="Un organisateur vous a retiré de cette réunion." />;
        case "ended":
            return <Alert severity="info" title="La réunion est terminée" description="Un organisateur a mis fin à la réunion pour tous les participants." />;
        case "failed":
            return <Alert severity="error" title="Vous avez été déconnecté" description="La connexion à la réunion a été interrompue." />;
        default:
            return <h1 className={fr.cx("fr-h4")}>Vous avez quitté la réunion</h1>;
    }
}

/** Whether joining again makes sense after reason. */
export const canRejoin = (reason: LeftReason) => reason === "left" || reason === "failed" || reason === "ended";
