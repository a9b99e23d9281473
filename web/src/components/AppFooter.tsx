import { Footer } from "@codegouvfr/react-dsfr/Footer";
import { headerFooterDisplayItem } from "@codegouvfr/react-dsfr/Display";

export function AppFooter() {
    return (
        <Footer
            accessibility="non compliant"
            contentDescription="Bureau réunit la messagerie instantanée, le partage de fichiers et la visioconférence des agents publics dans un espace souverain et sécurisé, accessible avec ProConnect."
            termsLinkProps={{ href: "/mentions-legales" }}
            accessibilityLinkProps={{ href: "/accessibilite" }}
            websiteMapLinkProps={{ href: "/plan-du-site" }}
            bottomItems={[
                { text: "Données personnelles", linkProps: { href: "/donnees-personnelles" } },
                headerFooterDisplayItem
            ]}
        />
    );
}
