import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import { fr } from "@codegouvfr/react-dsfr";
import { Alert } from "@codegouvfr/react-dsfr/Alert";
import { Button } from "@codegouvfr/react-dsfr/Button";
import { MeetClient, type LinkStatus } from "../../visio/client";
import {
    canModerate,
    canPublish,
    chatAccess,
    initialMeeting,
    meetingReducer,
    REACTION_MS,
    selfRole,
    tilesFor,
    type TileModel
} from "../../visio/protocol";
import { ChatPanel } from "./ChatPanel";
import { ControlBar } from "./ControlBar";
import { StreamAudio } from "./MediaElements";
import { LobbyList, ParticipantsPanel } from "./ParticipantsPanel";
import type { JoinChoice } from "./PreJoin";
import { VideoTile } from "./VideoTile";
import { CopyLink } from "./CopyLink";

export type LeftReason = "left" | "denied" | "failed" | "removed" | "ended";

type Props = {
    roomId: string;
    title: string;
    /** The link to share; empty for guests (they have none to share). */
    link: string;
    choice: JoinChoice;
    onLeft: (reason: LeftReason) => void;
    /** A guest's socket URL (guest link token and name). */
    socketUrl?: string;
};

const canShareScreen = typeof navigator !== "undefined" && !!navigator.mediaDevices && "getDisplayMedia" in navigator.mediaDevices;

/** A joined (or waiting) meeting: owns the signalling client and the local tracks. */
export function Meeting({ roomId, title, link, choice, onLeft, socketUrl }: Props) {
    const [state, dispatch] = useReducer(meetingReducer, initialMeeting);
    const [link_, setLink] = useState<LinkStatus>("connecting");
    const [, setMediaVersion] = useState(0);
    const [panel, setPanel] = useState<"participants" | "chat" | null>(() =>
        typeof window !== "undefined" && window.matchMedia?.("(min-width: 62em)").matches ? "participants" : null
    );
    const [muted, setMuted] = useState(choice.muted);
    const [screen, setScreen] = useState<MediaStream | null>(null);
    const panelRef = useRef(panel);
    panelRef.current = panel;
    const clientRef = useRef<MeetClient | null>(null);

    useEffect(() => {
        const client = new MeetClient(roomId, {
            message: (msg) => {
                if (msg.type === "moderated") setMuted((m) => ({ ...m, [msg.action === "mute" ? "audio" : "video"]: true }));
                dispatch({ type: "message", msg, chatOpen: panelRef.current === "chat" });
            },
            status: (s) => {
                setLink(s);
                if (s === "reconnecting") dispatch({ type: "reconnecting" });
            },
            media: () => setMediaVersion((v) => v + 1),
            speaking: (participants) => dispatch({ type: "speaking", participants }),
            failure: (message) => dispatch({ type: "connection_failed", message })
        }, socketUrl);
        clientRef.current = client;
        dispatch({ type: "connecting" });
        client.start(choice.tracks, choice.muted);
        const onUnload = () => client.leave();
        window.addEventListener("pagehide", onUnload);
        return () => {
            window.removeEventListener("pagehide", onUnload);
            client.leave();
            clientRef.current = null;
        };
    }, [roomId, choice, socketUrl]);

    // Local tracks are ours: stop them when the meeting view goes away
    // (deferred, so StrictMode's remount in development keeps them).
    const mounted = useRef(0);
    useEffect(() => {
        mounted.current++;
        return () => {
            mounted.current--;
            setTimeout(() => {
                if (mounted.current > 0) return;
                choice.tracks.microphone?.stop();
                choice.tracks.camera?.stop();
            }, 0);
        };
    }, [choice]);
    useEffect(() => () => screen?.getTracks().forEach((t) => t.stop()), [screen]);

    useEffect(() => {
        if (state.phase === "denied" || state.phase === "removed" || state.phase === "ended") onLeft(state.phase);
    }, [state.phase, onLeft]);

    useEffect(() => {
        if (panel === "chat") dispatch({ type: "chat_read" });
    }, [panel, state.chat.length]);

    // Reactions show for a few seconds.
    const scheduled = useRef(new Set<number>());
    useEffect(() => {
        for (const r of state.reactions) {
            if (scheduled.current.has(r.id)) continue;
            scheduled.current.add(r.id);
            setTimeout(() => {
                scheduled.current.delete(r.id);
                dispatch({ type: "reaction_expired", id: r.id });
            }, REACTION_MS);
        }
    }, [state.reactions]);
    const reactionOf: Record<string, string> = {};
    for (const r of state.reactions) reactionOf[r.participant] = r.emoji;

    const localCamera = useMemo(() => (choice.tracks.camera ? new MediaStream([choice.tracks.camera]) : null), [choice]);

    const client = clientRef.current;
    const host = canModerate(state);
    const publishing = canPublish(selfRole(state));
    const webinar = state.room?.kind === "webinar";
    const joined = state.phase === "joined";
    // From the server: a hand raised before a reconnection comes back raised.
    const hand = state.participants.find((p) => p.id === state.selfId)?.hand === true;

    const toggle = (kind: "audio" | "video") => {
        const next = !muted[kind];
        setMuted((m) => ({ ...m, [kind]: next }));
        client?.setMuted(kind, next);
        dispatch({ type: "local_mute", kind, muted: next });
    };

    const stopShare = useCallback(() => {
        setScreen(null);
        void clientRef.current?.stopScreen();
    }, []);

    const toggleShare = async () => {
        if (screen) {
            stopShare();
            return;
        }
        try {
            const s = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
            const track = s.getVideoTracks()[0];
            if (!track) return;
            track.contentHint = "detail";
            track.addEventListener("ended", stopShare);
            setScreen(s);
            await clientRef.current?.startScreen(track);
        } catch (err) {
            if (err instanceof DOMException && err.name === "NotAllowedError") return; // the user cancelled
            dispatch({ type: "notice", severity: "error", title: "Partage d'écran impossible", text: "Le navigateur n'a pas pu capturer l'écran." });
        }
    };

    const toggleHand = () => {
        const next = !hand;
        client?.setHand(next);
        dispatch({ type: "local_hand", raised: next });
    };

    const leave = () => {
        client?.leave();
        dispatch({ type: "left" });
        onLeft("left");
    };

    const tiles = tilesFor(state);
    if (screen && state.selfId && !tiles.some((t) => t.self && t.source === "screen")) {
        const self = state.participants.find((p) => p.id === state.selfId);
        if (self) tiles.unshift({ key: `${self.id}:screen`, participant: self, source: "screen", self: true });
    }
    const streamFor = (t: TileModel): MediaStream | null => {
        if (t.self) return t.source === "screen" ? screen : localCamera;
        return client?.remoteStream(t.participant.id, t.source) ?? null;
    };
    const audioStreams = state.participants
        .filter((p) => p.id !== state.selfId)
        .map((p) => ({ id: p.id, stream: client?.remoteStream(p.id, "audio") ?? null }))
        .filter((a): a is { id: string; stream: MediaStream } => a.stream !== null);

    if (state.phase === "lobby" || ((state.phase === "connecting" || state.phase === "reconnecting") && !state.selfId)) {
        return (
            <div className="visio-waiting" data-testid="visio-lobby" data-phase={state.phase}>
                <span className="bureau-spinner" aria-hidden="true" />
                <h1 className={fr.cx("fr-h4", "fr-mt-2w")} role="status">
                    {state.phase === "lobby"
                        ? "En attente d'admission par l'organisateur"
                        : state.phase === "reconnecting"
                          ? "Reconnexion…"
                          : "Connexion à la réunion…"}
                </h1>
                {state.phase === "lobby" && (
                    <p>Vous entrerez dans « {state.room?.title || title || "la réunion"} » dès qu'un organisateur vous aura admis.</p>
                )}
                {state.notices.map((n) => (
                    <Alert key={n.id} severity={n.severity} small description={`${n.title} : ${n.text}`} className={fr.cx("fr-mb-2w")} />
                ))}
                <Button priority="secondary" onClick={leave}>
                    Quitter
                </Button>
            </div>
        );
    }

    return (
        <div className="visio-meeting" data-testid="visio-meeting" data-phase={state.phase}>
            <div className="visio-meeting__top">
                <h1 className={fr.cx("fr-h5", "fr-mb-0")}>
                    {state.room?.title || title || "Réunion"}
                    {webinar && <span className={fr.cx("fr-badge", "fr-badge--sm", "fr-badge--info", "fr-ml-1w")}>Webinaire</span>}
                    {state.room?.locked && (
                        <span className={fr.cx("fr-badge", "fr-badge--sm", "fr-badge--warning", "fr-ml-1w")} data-testid="visio-locked">
                            Verrouillée
                        </span>
                    )}
                </h1>
                {link && <CopyLink link={link} compact />}
            </div>
            <div className="visio-notices" aria-live="polite">
                {(state.phase === "reconnecting" || link_ === "reconnecting") && state.phase !== "failed" && (
                    <Alert
                        severity="warning"
                        small
                        data-testid="visio-reconnecting"
                        description="Reconnexion… Vous restez dans la réunion le temps que la connexion revienne."
                    />
                )}
                {host &&
                    state.lobby.length > 0 &&
                    panel !== "participants" && (
                        <div className={fr.cx("fr-alert", "fr-alert--info", "fr-alert--sm")} data-testid="visio-lobby-alert">
                            <p>
                                {state.lobby.length === 1
                                    ? `${state.lobby[0].name} demande à entrer.`
                                    : `${state.lobby.length} personnes demandent à entrer.`}
                            </p>
                            <LobbyList lobby={state.lobby} onAdmit={(id) => client?.admit(id)} onDeny={(id) => client?.deny(id)} />
                        </div>
                    )}
                {state.notices.map((n) => (
                    <Alert
                        key={n.id}
                        severity={n.severity}
                        small
                        closable
                        onClose={() => dispatch({ type: "dismiss", id: n.id })}
                        description={`${n.title} : ${n.text}`}
                    />
                ))}
                {state.phase === "failed" && (
                    <div>
                        <Button size="small" onClick={() => onLeft("failed")}>
                            Revenir à l'écran d'accueil de la réunion
                        </Button>
                    </div>
                )}
            </div>
            <div className={"visio-body" + (panel ? " visio-body--panel" : "")}>
                <div className="visio-grid" data-count={Math.min(tiles.length, 9)} data-testid="visio-grid">
                    {tiles.map((t) => (
                        <VideoTile
                            key={t.key}
                            participant={t.participant}
                            source={t.source}
                            stream={streamFor(t)}
                            self={t.self}
                            speaking={state.speaking.includes(t.participant.id) && !t.participant.audio_muted}
                            reaction={t.source === "camera" ? reactionOf[t.participant.id] : undefined}
                            onSize={t.self ? undefined : (w, h) => client?.setRenderedSize(t.participant.id, t.source, w, h)}
                        />
                    ))}
                </div>
                {panel && (
                    <aside className="visio-panel" aria-label={panel === "chat" ? "Discussion" : "Participants"}>
                        <div className="visio-panel__head">
                            <h2 className={fr.cx("fr-h6", "fr-mb-0")}>{panel === "chat" ? "Discussion" : "Participants"}</h2>
                            <button type="button" className={fr.cx("fr-btn--close", "fr-btn")} title="Fermer le panneau" onClick={() => setPanel(null)}>
                                Fermer
                            </button>
                        </div>
                        {panel === "chat" ? (
                            <ChatPanel
                                messages={state.chat}
                                onSend={(t, asQuestion) => (asQuestion ? client?.question(t) : client?.chat(t))}
                                allowQuestion={webinar}
                                disabled={!joined}
                                access={chatAccess(state)}
                                scope={webinar && host ? (state.room?.webinar_chat ?? "everyone") : undefined}
                                onScope={webinar && host ? (w) => client?.setWebinarChat(w) : undefined}
                            />
                        ) : (
                            <ParticipantsPanel
                                participants={state.participants}
                                count={state.count}
                                reactions={reactionOf}
                                selfId={state.selfId}
                                speaking={state.speaking}
                                lobby={state.lobby}
                                canModerate={host}
                                selfIsHost={selfRole(state) === "host"}
                                webinar={webinar}
                                locked={state.room?.locked === true}
                                onAdmit={(id) => client?.admit(id)}
                                onDeny={(id) => client?.deny(id)}
                                onModerate={(action, id) => client?.moderate(action, id)}
                                onPromote={(id) => client?.promote(id)}
                                onDemote={(id) => client?.demote(id)}
                                onLock={(locked) => client?.lock(locked)}
                                onEnd={() => client?.end()}
                            />
                        )}
                    </aside>
                )}
            </div>
            <div className="visio-audio" hidden>
                {audioStreams.map((a) => (
                    <StreamAudio key={a.id} stream={a.stream} />
                ))}
            </div>
            <ControlBar
                audioMuted={muted.audio}
                videoMuted={muted.video}
                hasAudio={!!choice.tracks.microphone && publishing}
                hasVideo={!!choice.tracks.camera && publishing}
                sharing={screen !== null}
                canShare={canShareScreen && publishing}
                hand={hand}
                panel={panel}
                unread={state.unread}
                lobbyCount={host ? state.lobby.length : 0}
                disabled={!joined}
                onToggleAudio={() => toggle("audio")}
                onToggleVideo={() => toggle("video")}
                onToggleShare={() => void toggleShare()}
                onToggleHand={toggleHand}
                onReact={(e) => client?.react(e)}
                onPanel={(p) => setPanel((cur) => (cur === p ? null : p))}
                onLeave={leave}
            />
        </div>
    );
}
