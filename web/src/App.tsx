import { lazy, Suspense, useCallback, useEffect, useState } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Alert } from "@codegouvfr/react-dsfr/Alert";
import { Button } from "@codegouvfr/react-dsfr/Button";
import { SkipLinks } from "@codegouvfr/react-dsfr/SkipLinks";
import { fetchMe, type MeState } from "./api";
import { useLiveEvents, type LiveEvents } from "./events";
import { usePathname } from "./router";
import { services } from "./services";
import { AppHeader, navItems } from "./components/AppHeader";
import { AppFooter } from "./components/AppFooter";
import { SignedInHome, SignedOutHome } from "./pages/Home";
import { ServicePage } from "./pages/ServicePage";
import { FilesPage } from "./pages/files/FilesPage";
import { SharedLinkPage } from "./pages/files/SharedLinkPage";
import { linkToken } from "./files/api";
import { VisioPage } from "./pages/visio/VisioPage";
import { GuestPage } from "./pages/visio/GuestPage";
import { InfoPage, NotFound, infoPages } from "./pages/InfoPage";

// Messagerie carries matrix-js-sdk: loaded only when opened.
const ChatPage = lazy(() => import("./pages/chat/ChatPage"));

/** Session state from GET /api/me; `refresh` refetches quietly (no loading flash). */
function useSession() {
    const [session, setSession] = useState<MeState>({ status: "loading" });
    const refresh = useCallback(async () => {
        const next = await fetchMe();
        // A transient error while signed in keeps the current session on screen.
        setSession((cur) => (next.status === "error" && cur.status === "signed-in" ? cur : next));
    }, []);
    const retry = useCallback(() => {
        setSession({ status: "loading" });
        void refresh();
    }, [refresh]);
    useEffect(() => {
        void refresh();
    }, [refresh]);
    return { session, refresh, retry };
}

function pageTitle(pathname: string): string {
    const nav = navItems.find((n) => n.path === pathname || (n.path !== "/" && pathname.startsWith(n.path + "/")));
    if (nav) return nav.text;
    return infoPages[pathname]?.title ?? "Page non trouvée";
}

export function App() {
    const pathname = usePathname();
    const { session, refresh, retry } = useSession();
    const signedIn = session.status === "signed-in";
    const live = useLiveEvents(signedIn, refresh);

    // If the live connection drops, check whether the session is still valid:
    // a 401 switches to the signed-out state, which stops reconnecting.
    useEffect(() => {
        if (signedIn && live.state === "disconnected") void refresh();
    }, [signedIn, live.state, refresh]);

    useEffect(() => {
        document.title = `${pageTitle(pathname)} - Bureau`;
    }, [pathname]);

    return (
        <>
            <SkipLinks
                links={[
                    { label: "Contenu", anchor: "#contenu" },
                    { label: "Menu", anchor: "#fr-header-main-navigation" },
                    { label: "Pied de page", anchor: "#fr-footer" }
                ]}
            />
            <AppHeader session={session} live={live} pathname={pathname} />
            <main id="contenu" tabIndex={-1} className={fr.cx("fr-container", "fr-py-6w")}>
                <Page pathname={pathname} session={session} retry={retry} live={live} />
            </main>
            <AppFooter />
        </>
    );
}

function Page({ pathname, session, retry, live }: { pathname: string; session: MeState; retry: () => void; live: LiveEvents }) {
    const info = infoPages[pathname];
    if (info) return <InfoPage info={info} />;

    const service = services.find((s) => pathname === s.path || pathname.startsWith(s.path + "/"));
    if (pathname !== "/" && !service) return <NotFound />;
    // A share link opens for anyone, signed in or not: the token is the capability.
    const token = linkToken(pathname);
    if (token) return <SharedLinkPage token={token} />;
    // A guest link works without an account (docs/meet.md, guest links).
    if (pathname === "/visio/invite") return <GuestPage />;

    switch (session.status) {
        case "loading":
            return (
                <div className="bureau-loading" role="status" aria-live="polite">
                    <span className="bureau-spinner" aria-hidden="true" />
                    Chargement de votre espace…
                </div>
            );
        case "error":
            return (
                <Alert
                    severity="error"
                    title="Bureau est momentanément indisponible"
                    description={
                        <>
                            <p>{session.message} Réessayez dans quelques instants.</p>
                            <Button className={fr.cx("fr-mt-2w")} priority="secondary" size="small" onClick={retry}>
                                Réessayer
                            </Button>
                        </>
                    }
                />
            );
    }
    const signedIn = session.status === "signed-in";
    if (service?.path === "/fichiers" && session.status === "signed-in") {
        return <FilesPage pathname={pathname} meId={session.me.id} email={session.me.email} canCreateSpaces={!session.me.external} latest={live.notifications[0]} />;
    }
    if (service?.path === "/visio" && session.status === "signed-in") {
        return <VisioPage path={pathname.slice("/visio".length)} />;
    }
    if (service?.path === "/messagerie" && session.status === "signed-in") {
        return (
            <Suspense fallback={<div className="bureau-loading" role="status"><span className="bureau-spinner" aria-hidden="true" />Chargement de la messagerie…</div>}>
                <ChatPage pathname={pathname} me={session.me} />
            </Suspense>
        );
    }
    if (service) return <ServicePage service={service} signedIn={signedIn} />;
    return signedIn ? <SignedInHome me={session.me} /> : <SignedOutHome />;
}
