import { useEffect, useId, useRef, useState } from "react";
import type { ConnectionState, LiveEvents, Notification } from "../events";
import { Link } from "../router";

const stateLabel: Record<ConnectionState, string> = {
    connecting: "Connexion au service de notifications…",
    connected: "Notifications en direct actives",
    disconnected: "Notifications interrompues, nouvelle tentative automatique"
};

const timeFormat = new Intl.DateTimeFormat("fr-FR", { dateStyle: "short", timeStyle: "short" });

function formatTime(iso: string) {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? "" : timeFormat.format(d);
}

/**
 * Bell with unread count and a small panel listing received notifications.
 * The wrapper exposes data-state="connecting|connected|disconnected".
 */
export function NotificationBell({ live, id, compact = false }: { live: LiveEvents; id?: string; compact?: boolean }) {
    const { state, notifications, unread, announcement, markAllRead } = live;
    const [open, setOpen] = useState(false);
    const rootRef = useRef<HTMLDivElement>(null);
    const panelId = useId();

    useEffect(() => {
        if (!open) return;
        markAllRead();
        const onKey = (e: KeyboardEvent) => {
            if (e.key === "Escape") setOpen(false);
        };
        const onPointer = (e: PointerEvent) => {
            if (!rootRef.current?.contains(e.target as Node)) setOpen(false);
        };
        document.addEventListener("keydown", onKey);
        document.addEventListener("pointerdown", onPointer);
        return () => {
            document.removeEventListener("keydown", onKey);
            document.removeEventListener("pointerdown", onPointer);
        };
    }, [open, notifications, markAllRead]);

    const unreadText = unread === 0 ? "aucune non lue" : unread === 1 ? "1 non lue" : `${unread} non lues`;

    return (
        <div
            ref={rootRef}
            className={`bureau-notifications${compact ? " bureau-notifications--compact" : ""}`}
            data-state={state}
            data-notifications-indicator=""
        >
            <button
                id={id}
                type="button"
                className="fr-btn fr-icon-notification-3-line bureau-notifications__button"
                aria-expanded={open}
                aria-controls={panelId}
                title={stateLabel[state]}
                onClick={() => setOpen((o) => !o)}
            >
                {compact ? <span className="fr-sr-only">Notifications</span> : "Notifications"}
                <span className="fr-sr-only">, {unreadText}</span>
                {unread > 0 && (
                    <span className="bureau-badge" data-unread-count={unread} aria-hidden="true">
                        {unread > 99 ? "99+" : unread}
                    </span>
                )}
                <span className={`bureau-dot bureau-dot--${state}`} aria-hidden="true" />
            </button>
            <p className="fr-sr-only" role="status" aria-live="polite">
                {announcement}
            </p>
            <div id={panelId} className="bureau-notifications__panel" hidden={!open}>
                <p className="fr-text--bold fr-mb-1w">Notifications</p>
                <p className="fr-text--xs fr-mb-2w bureau-notifications__state">{stateLabel[state]}</p>
                {notifications.length === 0 ? (
                    <p className="fr-text--sm fr-mb-0 bureau-empty">Aucune notification</p>
                ) : (
                    <ul className="bureau-notifications__list">
                        {notifications.map((n) => (
                            <NotificationItem key={n.id} n={n} onFollow={() => setOpen(false)} />
                        ))}
                    </ul>
                )}
            </div>
        </div>
    );
}

function NotificationItem({ n, onFollow }: { n: Notification; onFollow: () => void }) {
    return (
        <li className="bureau-notification" data-notification-id={n.id}>
            <p className="fr-text--sm fr-text--bold fr-mb-0 bureau-notification__title">
                {n.link ? (
                    <Link href={n.link} onClick={onFollow}>
                        {n.title}
                    </Link>
                ) : (
                    n.title
                )}
            </p>
            {n.body !== "" && <p className="fr-text--sm fr-mb-0">{n.body}</p>}
            <p className="fr-text--xs fr-mb-0 bureau-notification__time">
                <time dateTime={n.time}>{formatTime(n.time)}</time>
            </p>
        </li>
    );
}
