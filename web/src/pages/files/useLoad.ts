import { useCallback, useEffect, useState, type DependencyList } from "react";
import { errorMessage } from "../../files/api";

/**
 * Loads data whenever deps change (or reload() is called), aborting the
 * previous request; error is the service's French message. The previous
 * data stays on screen while reloading, so live refreshes do not flash.
 */
export function useLoad<T>(load: ((signal: AbortSignal) => Promise<T>) | null, deps: DependencyList) {
    const [data, setData] = useState<T | null>(null);
    const [error, setError] = useState("");
    const [tick, setTick] = useState(0);
    useEffect(() => {
        if (!load) return;
        const ctl = new AbortController();
        setError("");
        load(ctl.signal)
            .then((d) => !ctl.signal.aborted && setData(d))
            .catch((err) => !ctl.signal.aborted && setError(errorMessage(err)));
        return () => ctl.abort();
        // eslint-disable-next-line react-hooks/exhaustive-deps
    }, [...deps, tick]);
    const reload = useCallback(() => setTick((t) => t + 1), []);
    return { data, error, reload, setData };
}
