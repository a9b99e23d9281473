import { Badge } from "@codegouvfr/react-dsfr/Badge";
import { CallOut } from "@codegouvfr/react-dsfr/CallOut";
import { ProConnectButton } from "@codegouvfr/react-dsfr/ProConnectButton";
import { fr } from "@codegouvfr/react-dsfr";
import { loginUrl } from "../api";
import type { Service } from "../services";

/** Placeholder until the service's own front-end lands. */
export function ServicePage({ service, signedIn }: { service: Service; signedIn: boolean }) {
    return (
        <>
            <h1>
                <span className={fr.cx(service.icon, "fr-icon--lg", "fr-mr-2w")} aria-hidden="true" />
                {service.title}
            </h1>
            <CallOut title="Bientôt disponible" iconId="fr-icon-time-line">
                {service.description}
            </CallOut>
            <p>
                <Badge severity="new" small>
                    En préparation
                </Badge>
            </p>
            {!signedIn && (
                <>
                    <p>Connectez-vous pour être prêt dès l'ouverture du service.</p>
                    <ProConnectButton url={loginUrl(service.path)} />
                </>
            )}
        </>
    );
}
