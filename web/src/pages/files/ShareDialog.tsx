// The share dialog of a space: members (list, add from the directory) and
// share links (create, copy, revoke), in two tabs. Opened from the toolbar
// (the space) or from an item's row (links on that item).
import { useState } from "react";
import { createModal } from "@codegouvfr/react-dsfr/Modal";
import { Tabs } from "@codegouvfr/react-dsfr/Tabs";
import type { FileNode, Space } from "../../files/api";
import { navigate } from "../../router";
import { LinksPanel } from "./LinksPanel";
import { MembersPanel } from "./MembersPanel";

export const shareModal = createModal({ id: "bureau-files-share", isOpenedByDefault: false });

export type ShareTarget = { node: FileNode | null; tab: "members" | "links"; key: number };

type Props = { space: Space; meId: string; target: ShareTarget; names: Map<string, string> };

/** After leaving the space: close the dialog first, then back to the spaces list. */
function leave() {
    shareModal.close();
    navigate("/fichiers");
}

export function ShareDialog({ space, meId, target, names }: Props) {
    const [tab, setTab] = useState(target.tab);
    const [lastKey, setLastKey] = useState(target.key);
    if (lastKey !== target.key) {
        // Opened again: start on the tab asked for.
        setLastKey(target.key);
        setTab(target.tab);
    }
    return (
        <shareModal.Component title={target.node ? `Partager « ${target.node.name} »` : `Partager « ${space.name} »`} size="large">
            <Tabs
                label="Partage"
                selectedTabId={tab}
                onTabChange={(id) => setTab(id as ShareTarget["tab"])}
                tabs={[
                    { tabId: "members", label: "Membres", iconId: "fr-icon-team-line" },
                    { tabId: "links", label: "Liens de partage", iconId: "fr-icon-link" }
                ]}
            >
                {tab === "members" ? (
                    <MembersPanel space={space} meId={meId} openKey={target.key} onLeft={leave} />
                ) : (
                    <LinksPanel space={space} node={target.node} names={names} openKey={target.key} />
                )}
            </Tabs>
        </shareModal.Component>
    );
}
