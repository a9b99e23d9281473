import { fr } from "@codegouvfr/react-dsfr";
import type { ReactNode } from "react";
import { navItems } from "../components/AppHeader";
import { Link } from "../router";

type Info = { title: string; body: ReactNode };

export const infoPages: Record<string, Info> = {
    "/accessibilite": {
        title: "Déclaration d'accessibilité",
        body: (
            <>
                <p>
                    Bureau s'engage à rendre son service accessible conformément à l'article 47 de la loi n° 2005-102
                    du 11 février 2005.
                </p>
                <h2 className={fr.cx("fr-h4")}>État de conformité</h2>
                <p>
                    Bureau est <strong>non conforme</strong> avec le référentiel général d'amélioration de
                    l'accessibilité (RGAA) : aucun audit n'a encore été réalisé.
                </p>
                <h2 className={fr.cx("fr-h4")}>Retour d'information et contact</h2>
                <p>
                    Si vous n'arrivez pas à accéder à un contenu ou à un service, contactez l'équipe Bureau de votre
                    ministère pour être orienté vers une alternative accessible.
                </p>
            </>
        )
    },
    "/mentions-legales": {
        title: "Mentions légales",
        body: (
            <>
                <p>Bureau est un service numérique de l'État destiné aux agents publics et à leurs partenaires.</p>
                <h2 className={fr.cx("fr-h4")}>Hébergement</h2>
                <p>Le service est hébergé sur une infrastructure souveraine qualifiée pour les données de l'État.</p>
            </>
        )
    },
    "/donnees-personnelles": {
        title: "Données personnelles",
        body: (
            <>
                <p>
                    Bureau traite les données strictement nécessaires à son fonctionnement : votre identité
                    transmise par ProConnect (nom, prénom, adresse électronique, administration) et les contenus que
                    vous déposez ou échangez.
                </p>
                <p>Aucun cookie de mesure d'audience ni traceur tiers n'est utilisé : seul un cookie de session est déposé.</p>
            </>
        )
    },
    "/plan-du-site": {
        title: "Plan du site",
        body: (
            <ul>
                {navItems.map((item) => (
                    <li key={item.path}>
                        <Link href={item.path}>{item.text}</Link>
                    </li>
                ))}
                <li>
                    <Link href="/accessibilite">Accessibilité</Link>
                </li>
                <li>
                    <Link href="/mentions-legales">Mentions légales</Link>
                </li>
                <li>
                    <Link href="/donnees-personnelles">Données personnelles</Link>
                </li>
            </ul>
        )
    }
};

export function InfoPage({ info }: { info: Info }) {
    return (
        <>
            <h1>{info.title}</h1>
            {info.body}
        </>
    );
}

export function NotFound() {
    return (
        <>
            <h1>Page non trouvée</h1>
            <p className={fr.cx("fr-text--lead")}>La page que vous cherchez est introuvable.</p>
            <p>
                Si vous avez tapé l'adresse web dans le navigateur, vérifiez qu'elle est correcte. La page n'est
                peut-être plus disponible.
            </p>
            <Link className={fr.cx("fr-btn")} href="/">
                Page d'accueil
            </Link>
        </>
    );
}
