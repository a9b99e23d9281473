// The few things the client reads in the server's offers: per m-section, its
// mid, kind, direction and msid (stream id = publisher's participant id,
// track id = the id announced by track_published).

export type SdpSection = {
    mid: string;
    kind: string;
    direction: "sendrecv" | "sendonly" | "recvonly" | "inactive";
    streamId?: string;
    trackId?: string;
};

export function parseOfferSections(sdp: string): SdpSection[] {
    const parts = sdp.split(/\r?\nm=/).slice(1);
    const out: SdpSection[] = [];
    for (const part of parts) {
        const lines = part.split(/\r?\n/);
        const [kind = "", port = ""] = lines[0].split(" ");
        let mid = "";
        let direction: SdpSection["direction"] = "sendrecv";
        let streamId: string | undefined;
        let trackId: string | undefined;
        for (const l of lines.slice(1)) {
            if (l.startsWith("a=mid:")) mid = l.slice(6).trim();
            else if (l === "a=sendrecv" || l === "a=sendonly" || l === "a=recvonly" || l === "a=inactive") {
                direction = l.slice(2) as SdpSection["direction"];
            } else if (l.startsWith("a=msid:")) {
                const [s, t] = l.slice(7).trim().split(/\s+/);
                streamId = s;
                trackId = t;
            }
        }
        if (port === "0") direction = "inactive";
        if (mid !== "") out.push({ mid, kind, direction, streamId, trackId });
    }
    return out;
}
