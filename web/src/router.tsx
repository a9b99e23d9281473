// A tiny client-side router: history.pushState + popstate, and a Link that
// react-dsfr components use (registered in main.tsx).
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from "react";

const listeners = new Set<() => void>();

function notify() {
    for (const l of listeners) l();
}

window.addEventListener("popstate", notify);

export function navigate(to: string, opts: { replace?: boolean } = {}) {
    if (opts.replace) history.replaceState(null, "", to);
    else history.pushState(null, "", to);
    window.scrollTo(0, 0);
    notify();
}

function subscribe(cb: () => void) {
    listeners.add(cb);
    return () => {
        listeners.delete(cb);
    };
}

/** Current pathname, re-rendering on navigation. */
export function usePathname(): string {
    return useSyncExternalStore(subscribe, () => location.pathname);
}

/** Current path with query string, for ?redirect= on login links. */
export function currentLocalPath(): string {
    return location.pathname + location.search;
}

/** Paths handled by the gateway itself: always full-page navigations. */
function isServerPath(href: string) {
    return href.startsWith("/auth/") || href.startsWith("/api/");
}

export type LinkProps = AnchorHTMLAttributes<HTMLAnchorElement> & { href: string };

export function Link({ href, onClick, target, ...rest }: LinkProps) {
    const handleClick = (e: MouseEvent<HTMLAnchorElement>) => {
        onClick?.(e);
        if (
            e.defaultPrevented ||
            e.button !== 0 ||
            e.metaKey ||
            e.ctrlKey ||
            e.shiftKey ||
            e.altKey ||
            (target !== undefined && target !== "_self") ||
            !href.startsWith("/") ||
            href.startsWith("//") ||
            isServerPath(href)
        ) {
            return;
        }
        e.preventDefault();
        navigate(href);
    };
    return <a href={href} target={target} onClick={handleClick} {...rest} />;
}
