import { affiliation, type Me } from "../api";

/** Name and ministry of the signed-in agent, shown in the header. */
export function AgentIdentity({ me, id }: { me: Me; id?: string }) {
    const org = affiliation(me);
    return (
        <p id={id} className="bureau-identity fr-icon-account-circle-line" data-testid="agent-identity">
            <span className="bureau-identity__name">{me.display_name}</span>
            {org !== "" && <span className="bureau-identity__org">{org}</span>}
        </p>
    );
}
