import { useEffect, useRef, useState, type FormEvent } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Button } from "@codegouvfr/react-dsfr/Button";
import { MAX_CHAT, type ChatEntry } from "../../visio/protocol";

const time = new Intl.DateTimeFormat("fr-FR", { hour: "2-digit", minute: "2-digit" });

/** The meeting's chat: messages (server-echoed, with the server's time) and a composer. */
type Props = {
    messages: ChatEntry[];
    onSend: (text: string, asQuestion: boolean) => void;
    /** Webinars: messages may be sent as questions (seen by hosts, moderators and presenters only). */
    allowQuestion?: boolean;
    disabled: boolean;
};

export function ChatPanel({ messages, onSend, allowQuestion, disabled }: Props) {
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
        onSend(t.slice(0, MAX_CHAT), !!allowQuestion && asQuestion);
        setText("");
    };
    return (
        <div className="visio-panel__body visio-chat">
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
            {allowQuestion && (
                <div className={fr.cx("fr-checkbox-group", "fr-checkbox-group--sm")} style={{ padding: "0.5rem 1rem 0" }}>
                    <input type="checkbox" id="visio-ask-question" checked={asQuestion} onChange={(e) => setAsQuestion(e.target.checked)} />
                    <label className={fr.cx("fr-label")} htmlFor="visio-ask-question">
                        Envoyer comme question aux organisateurs
                    </label>
                </div>
            )}
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
                        placeholder="Écrire un message"
                        autoComplete="off"
                        onChange={(e) => setText(e.target.value)}
                        disabled={disabled}
                    />
                </div>
                <Button type="submit" iconId="fr-icon-send-plane-fill" title="Envoyer" disabled={disabled || text.trim() === ""} />
            </form>
        </div>
    );
}
