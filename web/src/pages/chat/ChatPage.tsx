// The Messagerie view: the conversations list (/messagerie) and a
// conversation (/messagerie/{roomId}); side by side on a wide screen, one
// screen at a time on a phone.
import { fr } from "@codegouvfr/react-dsfr";
import { Alert } from "@codegouvfr/react-dsfr/Alert";
import { Button } from "@codegouvfr/react-dsfr/Button";
import type { MatrixClient } from "matrix-js-sdk";
import type { Me } from "../../api";
import { restartChat, type CryptoState } from "../../chat/client";
import { parseChatPath } from "../../chat/ids";
import { useChat, useClientVersion } from "../../chat/useChat";
import { NotFound } from "../InfoPage";
import { RoomList } from "../../components/chat/RoomList";
import { RoomView } from "../../components/chat/RoomView";
import { NewDirectDialog, NewRoomDialog } from "../../components/chat/Dialogs";
import "../../components/chat/chat.css";

type Props = { pathname: string; me: Me };

export default function ChatPage({ pathname, me }: Props) {
    const roomId = parseChatPath(pathname);
    const chat = useChat(me.id);
    if (roomId === undefined) return <NotFound />;
    const s = chat.state;
    if (s.status === "connecting" || s.status === "redirecting") {
        return (
            <div className="bureau-loading" role="status" aria-live="polite">
                <span className="bureau-spinner" aria-hidden="true" />
                {s.status === "redirecting" ? "Connexion à la messagerie…" : "Chargement de vos conversations…"}
            </div>
        );
    }
    if (s.status === "error") {
        return (
            <Alert
                severity="error"
                title="La messagerie n'a pas pu se connecter"
                description={
                    <>
                        <p>{s.message}</p>
                        <Button className={fr.cx("fr-mt-2w")} priority="secondary" size="small" onClick={() => restartChat(me.id)}>
                            Réessayer
                        </Button>
                    </>
                }
            />
        );
    }
    return <Messagerie client={s.client} roomId={roomId} crypto={chat.crypto} />;
}

function Messagerie({ client, roomId, crypto }: { client: MatrixClient; roomId: string | null; crypto: CryptoState }) {
    const version = useClientVersion(client);
    const e2ee = crypto === "ready";
    return (
        <div className="bureau-chat" data-view={roomId ? "room" : "list"}>
            <h1 className={fr.cx("fr-sr-only")}>Messagerie</h1>
            <section className="bureau-chat__list" aria-label="Conversations">
                <RoomList client={client} selected={roomId} version={version} />
            </section>
            <section className="bureau-chat__room" aria-label="Conversation">
                {roomId ? (
                    <RoomView key={roomId} client={client} roomId={roomId} version={version} e2ee={e2ee} />
                ) : (
                    <div className="bureau-chat__placeholder">
                        <span className={fr.cx("fr-icon-chat-3-line")} aria-hidden="true" />
                        <p>Choisissez une conversation ou commencez-en une nouvelle.</p>
                    </div>
                )}
            </section>
            <NewDirectDialog client={client} e2ee={e2ee} />
            <NewRoomDialog client={client} e2ee={e2ee} />
        </div>
    );
}
