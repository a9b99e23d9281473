import { Card } from "@codegouvfr/react-dsfr/Card";
import { ProConnectButton } from "@codegouvfr/react-dsfr/ProConnectButton";
import { fr } from "@codegouvfr/react-dsfr";
import { cx } from "@codegouvfr/react-dsfr/tools/cx";
import { affiliation, firstName, loginUrl, type Me } from "../api";
import { services } from "../services";

export function SignedOutHome() {
    return (
        <div className={fr.cx("fr-grid-row", "fr-grid-row--gutters", "fr-grid-row--middle")}>
            <div className={fr.cx("fr-col-12", "fr-col-md-7")}>
                <h1>Bienvenue sur Bureau</h1>
                <p className={fr.cx("fr-text--lead")}>
                    L'espace de travail collaboratif des agents de l'État : messagerie instantanée, partage de
                    fichiers et visioconférence, réunis dans un même service souverain.
                </p>
                <ul className="bureau-welcome-list">
                    {services.map((s) => (
                        <li key={s.path}>
                            <span className={fr.cx(s.icon, "fr-mr-1w")} aria-hidden="true" />
                            <strong>{s.title}</strong> — {s.summary}
                        </li>
                    ))}
                </ul>
            </div>
            <div className={fr.cx("fr-col-12", "fr-col-md-5")}>
                <div className="bureau-login-panel">
                    <h2 className={fr.cx("fr-h4")}>Accéder à mon espace</h2>
                    <p>Connectez-vous avec ProConnect, l'identifiant des professionnels de la sphère publique.</p>
                    <ProConnectButton url={loginUrl("/")} />
                </div>
            </div>
        </div>
    );
}

export function SignedInHome({ me }: { me: Me }) {
    const org = affiliation(me);
    return (
        <>
            <h1>Bonjour {firstName(me)}</h1>
            <p className={fr.cx("fr-text--lead")}>
                Bienvenue dans votre espace de travail{org !== "" && !me.external ? ` — ${org}` : ""}.
            </p>
            <h2 className={fr.cx("fr-h4")}>Vos services</h2>
            <div className={fr.cx("fr-grid-row", "fr-grid-row--gutters")}>
                {services.map((s) => (
                    <div key={s.path} className={fr.cx("fr-col-12", "fr-col-md-4")}>
                        <Card
                            title={s.title}
                            titleAs="h3"
                            desc={s.summary}
                            linkProps={{ href: s.path }}
                            enlargeLink
                            start={<span className={cx(fr.cx(s.icon, "fr-icon--lg"), "bureau-card-icon")} aria-hidden="true" />}
                        />
                    </div>
                ))}
            </div>
        </>
    );
}
