import { useEffect, useRef, useState, type FormEvent } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Button } from "@codegouvfr/react-dsfr/Button";
import { Select } from "@codegouvfr/react-dsfr/Select";
import { MAX_CHAT, WEBINAR_CHAT_LABELS, type ChatEntry, type WebinarChat } from "../../visio/protocol";

const time = new Intl.DateTimeFormat("fr-FR", { hour: "2-digit", minute: "2-digit" });

/** The meeting's chat: messages (server-echoed, with the server's time) and a composer. */
type Props = {
    messages: ChatEntry[];
    onSend: (text: string, asQuestion: boolean) => void;
    /** Webinars: messages may be sent as questions (seen by hosts, moderators and presenters only). */
    allowQuestion?: boolean;
    disabled: boolean;
    /** Webinars: whom self's messages reach (none: the chat is for the stage, the input is hidden). */
    access?: "all" | "stage" | "none";
    /** Webinar hosts and moderators: the current setting and how to change it. */
    scope?: WebinarChat;
    onScope?: (w: WebinarChat) => void;
};

export function ChatPanel({ messages, onSend, allowQuestion, disabled, access = "all", scope, onScope }: Props) {
    const [text, setText] = useState("");
    const [asQuestion, setAsQuestion] = useState(false);
    const listRef = useRef<HTMLOListElement>(null);
    useEffect(() => {
        const l = listRef.current;
        if (l) l.scrollTop = l.scrollHeight;
    }, [messages.length]);
    const submit = (e: FormEvent) => {
        e.preventDefault();
        const t = text.trim();
        if (!t || disabled) return;
        onSend(t.slice(0, MAX_CHAT), !!allowQuestion && (asQuestion || access === "none"));
        setText("");
    };
    return (
        <div className="visio-panel__body visio-chat">
            {onScope && scope && (
                <Select
                    label="Qui peut écrire dans le chat"
                    className={fr.cx("fr-mb-0")}
                    style={{ padding: "0.5rem 1rem 0" }}
                    nativeSelectProps={{
                        id: "visio-webinar-chat",
                        value: scope,
                        onChange: (e) => onScope(e.target.value as WebinarChat)
                    }}
                >
                    {(Object.keys(WEBINAR_CHAT_LABELS) as WebinarChat[]).map((w) => (
                        <option key={w} value={w}>
                            {WEBINAR_CHAT_LABELS[w]}
                        </option>
                    ))}
                </Select>
            )}
            <ol ref={listRef} className="visio-chat__list" aria-live="polite" aria-relevant="additions" data-testid="visio-chat-list">
                {messages.length === 0 && <li className="visio-chat__empty">Aucun message pour l'instant.</li>}
                {messages.map((m) => (
                    <li key={m.id} className={"visio-chat__msg" + (m.mine ? " visio-chat__msg--mine" : "")}>
                        <span className="visio-chat__meta">
                            {m.question && <span className={fr.cx("fr-badge", "fr-badge--sm", "fr-badge--new", "fr-mr-1w")}>Question</span>}
                            <strong>{m.mine ? "Vous" : m.name}</strong> · <time dateTime={new Date(m.ts).toISOString()}>{time.format(m.ts)}</time>
                        </span>
                        <span className="visio-chat__text">{m.text}</span>
                    </li>
                ))}
            </ol>
            {access === "stage" && (
                <p className={fr.cx("fr-text--sm", "fr-mb-0")} style={{ padding: "0.5rem 1rem 0" }} data-testid="visio-chat-scope">
                    Vos messages ne sont lus que par les intervenants.
                </p>
            )}
            {access === "none" && (
                <p className={fr.cx("fr-text--sm", "fr-mb-0")} style={{ padding: "0.5rem 1rem" }} data-testid="visio-chat-scope">
                    Le chat est réservé aux intervenants.{allowQuestion ? " Vous pouvez poser une question aux organisateurs." : ""}
                </p>
            )}
            {allowQuestion && access !== "none" && (
                <div className={fr.cx("fr-checkbox-group", "fr-checkbox-group--sm")} style={{ padding: "0.5rem 1rem 0" }}>
                    <input type="checkbox" id="visio-ask-question" checked={asQuestion} onChange={(e) => setAsQuestion(e.target.checked)} />
                    <label className={fr.cx("fr-label")} htmlFor="visio-ask-question">
                        Envoyer comme question aux organisateurs
                    </label>
                </div>
            )}
            {(access !== "none" || allowQuestion) && (
            <form className="visio-chat__form" onSubmit={submit}>
                <div className={fr.cx("fr-input-group", "fr-mb-0")}>
                    <label className={fr.cx("fr-label", "fr-sr-only")} htmlFor="visio-chat-input">
                        Message
                    </label>
                    <input
                        id="visio-chat-input"
                        className={fr.cx("fr-input")}
                        value={text}
                        maxLength={MAX_CHAT}
                        placeholder={access === "none" ? "Poser une question" : "Écrire un message"}
                        autoComplete="off"
                        onChange={(e) => setText(e.target.value)}
                        disabled={disabled}
                    />
                </div>
                <Button type="submit" iconId="fr-icon-send-plane-fill" title="Envoyer" disabled={disabled || text.trim() === ""} />
            </form>
            )}
        </div>
    );
}
