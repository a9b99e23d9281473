import { initials } from "../../chat/ids";

/** Initials in a circle; a rounded square for a group room. The colour follows the name. */
export function Avatar({ name, group = false, size = "md" }: { name: string; group?: boolean; size?: "sm" | "md" }) {
    let h = 0;
    for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    return (
        <span className={`bureau-chat__avatar bureau-chat__avatar--${size}${group ? " is-group" : ""}`} data-tone={h % 6} aria-hidden="true">
            {initials(name)}
        </span>
    );
}
