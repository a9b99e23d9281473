// The conversations list: invitations first, then by last activity, with
// unread counts and the last message.
import { useMemo, useState } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Alert } from "@codegouvfr/react-dsfr/Alert";
import { Button } from "@codegouvfr/react-dsfr/Button";
import type { MatrixClient } from "matrix-js-sdk";
import { roomSummaries, type RoomSummary } from "../../chat/client";
import { roomPath } from "../../chat/ids";
import { formatListTime, previewText } from "../../chat/timeline";
import { chatErrorMessage } from "../../chat/session";
import { Link } from "../../router";
import { Avatar } from "./Avatar";
import { directModal, roomModal } from "./Dialogs";

type Props = { client: MatrixClient; selected: string | null; version: number };

export function RoomList({ client, selected, version }: Props) {
    // eslint-disable-next-line react-hooks/exhaustive-deps
    const rooms = useMemo(() => roomSummaries(client), [client, version]);
    const me = client.getUserId() ?? "";
    return (
        <>
            <div className="bureau-chat__list-header">
                <h2 className={fr.cx("fr-h5", "fr-mb-0")}>Messagerie</h2>
                <div className="bureau-chat__list-actions">
                    <Button size="small" iconId="fr-icon-user-add-line" onClick={() => directModal.open()}>
                        Nouvelle conversation
                    </Button>
                    <Button size="small" priority="secondary" iconId="fr-icon-team-line" onClick={() => roomModal.open()}>
                        Nouveau salon
                    </Button>
                </div>
            </div>
            {rooms.length === 0 ? (
                <div className="bureau-chat__empty">
                    <p className={fr.cx("fr-text--bold", "fr-mb-1w")}>Aucune conversation</p>
                    <p className={fr.cx("fr-text--sm")}>Écrivez à un collègue ou créez un salon pour votre équipe.</p>
                </div>
            ) : (
                <ul className="bureau-chat__rooms" aria-label="Liste des conversations">
                    {rooms.map((r) => (
                        <RoomItem key={r.roomId} client={client} room={r} me={me} selected={r.roomId === selected} />
                    ))}
                </ul>
            )}
        </>
    );
}

function RoomItem({ client, room, me, selected }: { client: MatrixClient; room: RoomSummary; me: string; selected: boolean }) {
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState("");
    const preview = room.invited ? `${room.inviter || "Quelqu'un"} vous invite` : previewText(room.last, me);
    const label = `${room.name}${room.unread ? `, ${room.unread} message${room.unread > 1 ? "s" : ""} non lu${room.unread > 1 ? "s" : ""}` : ""}`;
    const decline = async () => {
        setBusy(true);
        setError("");
        try {
            await client.leave(room.roomId);
        } catch (err) {
            setError(chatErrorMessage(err));
        } finally {
            setBusy(false);
        }
    };
    return (
        <li className={`bureau-chat__room-item${selected ? " is-selected" : ""}${room.unread ? " is-unread" : ""}`}>
            <Link href={roomPath(room.roomId)} aria-current={selected ? "page" : undefined} aria-label={label} className="bureau-chat__room-link">
                <Avatar name={room.name} group={!room.direct} />
                <span className="bureau-chat__room-text">
                    <span className="bureau-chat__room-top">
                        <span className="bureau-chat__room-name">
                            {room.name}
                            {room.encrypted && <span className={fr.cx("fr-icon-lock-line", "fr-icon--xs", "fr-ml-1v")} title="Chiffré de bout en bout" aria-hidden="true" />}
                        </span>
                        <span className="bureau-chat__room-time">{formatListTime(room.lastTs)}</span>
                    </span>
                    <span className="bureau-chat__room-bottom">
                        <span className="bureau-chat__room-preview">{preview}</span>
                        {room.invited ? (
                            <span className="fr-badge fr-badge--sm fr-badge--new">Invitation</span>
                        ) : room.unread > 0 ? (
                            <span className="bureau-chat__unread" aria-hidden="true">
                                {room.unread > 99 ? "99+" : room.unread}
                            </span>
                        ) : null}
                    </span>
                </span>
            </Link>
            {room.invited && (
                <div className="bureau-chat__invite-actions">
                    <Button size="small" priority="tertiary" disabled={busy} onClick={() => void decline()}>
                        Refuser
                    </Button>
                </div>
            )}
            {error && <Alert small severity="error" description={error} className={fr.cx("fr-mx-1w", "fr-mb-1w")} />}
        </li>
    );
}
