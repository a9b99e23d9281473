import { useEffect, useRef, useState } from "react";
import { createPortal } from "react-dom";
import { Header } from "@codegouvfr/react-dsfr/Header";
import { ProConnectButton } from "@codegouvfr/react-dsfr/ProConnectButton";
import { loginUrl, type MeState } from "../api";
import type { LiveEvents } from "../events";
import { currentLocalPath } from "../router";
import { AgentIdentity } from "./AgentIdentity";
import { LogoutButton } from "./LogoutButton";
import { NotificationBell } from "./NotificationBell";

export const navItems = [
    { path: "/", text: "Accueil" },
    { path: "/messagerie", text: "Messagerie" },
    { path: "/fichiers", text: "Fichiers" },
    { path: "/visio", text: "Visio" }
] as const;

function isActive(itemPath: string, pathname: string) {
    return itemPath === "/" ? pathname === "/" : pathname === itemPath || pathname.startsWith(itemPath + "/");
}

export function AppHeader({ session, live, pathname }: { session: MeState; live: LiveEvents; pathname: string }) {
    // On small screens the header tools move into the "Menu" modal; the bell is
    // also placed next to the Menu button (DSFR navbar, hidden on desktop) so
    // unread notifications stay visible.
    const headerRef = useRef<HTMLDivElement>(null);
    const [navbar, setNavbar] = useState<Element | null>(null);
    useEffect(() => {
        setNavbar(headerRef.current?.querySelector(".fr-header__navbar") ?? null);
    }, [session.status]);

    const quickAccessItems = (() => {
        switch (session.status) {
            case "signed-in":
                return [
                    <AgentIdentity key="me" me={session.me} />,
                    <NotificationBell key="notifications" live={live} />,
                    <LogoutButton key="logout" />
                ];
            case "signed-out":
                return [<ProConnectButton key="login" url={loginUrl(currentLocalPath())} className="bureau-header-login" />];
            default:
                return [];
        }
    })();

    return (
        <>
            {navbar !== null &&
                session.status === "signed-in" &&
                createPortal(<NotificationBell live={live} compact />, navbar)}
            <Header
                ref={headerRef}
                brandTop={
                    <>
                        République
                        <br />
                        Française
                    </>
                }
                serviceTitle="Bureau"
                serviceTagline="L'espace de travail collaboratif de l'État"
                homeLinkProps={{ href: "/", title: "Accueil - Bureau" }}
                quickAccessItems={quickAccessItems}
                navigation={navItems.map((item) => ({
                    text: item.text,
                    linkProps: { href: item.path },
                    isActive: isActive(item.path, pathname)
                }))}
            />
        </>
    );
}
