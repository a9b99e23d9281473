import { useEffect, useRef } from "react";

/** A <video> bound to a MediaStream (srcObject cannot be set from JSX). */
export function StreamVideo({ stream, mirrored, className }: { stream: MediaStream | null; mirrored?: boolean; className?: string }) {
    const ref = useRef<HTMLVideoElement>(null);
    useEffect(() => {
        const v = ref.current;
        if (!v) return;
        if (v.srcObject !== stream) v.srcObject = stream;
        if (stream) v.play().catch(() => {});
    }, [stream]);
    return (
        <video
            ref={ref}
            className={className}
            autoPlay
            playsInline
            muted
            data-mirrored={mirrored ? "true" : undefined}
        />
    );
}

/** Plays a remote participant's audio (hidden). */
export function StreamAudio({ stream }: { stream: MediaStream }) {
    const ref = useRef<HTMLAudioElement>(null);
    useEffect(() => {
        const a = ref.current;
        if (!a) return;
        if (a.srcObject !== stream) a.srcObject = stream;
        a.play().catch(() => {});
    }, [stream]);
    return <audio ref={ref} autoPlay />;
}
