import { useEffect, useRef } from "react";

/** A <video> bound to a MediaStream (srcObject cannot be set from JSX). */
export function StreamVideo({
    stream,
    mirrored,
    className,
    onSize
}: {
    stream: MediaStream | null;
    mirrored?: boolean;
    className?: string;
    /** Called with the rendered size in device pixels (remote videos: picks the simulcast layer). */
    onSize?: (width: number, height: number) => void;
}) {
    const ref = useRef<HTMLVideoElement>(null);
    useEffect(() => {
        const v = ref.current;
        if (!v) return;
        if (v.srcObject !== stream) v.srcObject = stream;
        if (stream) v.play().catch(() => {});
    }, [stream]);
    // The callback may be a new closure each render: observe once.
    const sizeRef = useRef(onSize);
    sizeRef.current = onSize;
    const observe = !!onSize;
    useEffect(() => {
        const v = ref.current;
        if (!v || !observe || typeof ResizeObserver === "undefined") return;
        const ro = new ResizeObserver(([e]) => {
            const dpr = window.devicePixelRatio || 1;
            sizeRef.current?.(e.contentRect.width * dpr, e.contentRect.height * dpr);
        });
        ro.observe(v);
        return () => ro.disconnect();
    }, [observe]);
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
