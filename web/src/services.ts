// The three services of Bureau, shown as cards on the home page and as
// placeholder pages until each service's front-end lands.
export type Service = {
    path: "/messagerie" | "/fichiers" | "/visio";
    title: string;
    icon: "fr-icon-chat-3-line" | "fr-icon-folder-2-line" | "fr-icon-video-chat-line";
    summary: string;
    description: string;
};

export const services: Service[] = [
    {
        path: "/messagerie",
        title: "Messagerie",
        icon: "fr-icon-chat-3-line",
        summary: "Échangez en direct avec vos collègues, en conversations privées ou en salons d'équipe.",
        description:
            "La messagerie instantanée de Bureau permettra d'échanger en temps réel avec les agents de votre ministère et des autres administrations, dans des conversations privées ou des salons thématiques, avec le partage de documents depuis Fichiers."
    },
    {
        path: "/fichiers",
        title: "Fichiers",
        icon: "fr-icon-folder-2-line",
        summary: "Stockez, partagez et retrouvez vos documents de travail dans un espace sécurisé.",
        description:
            "Fichiers permettra de déposer vos documents, de les organiser en dossiers partagés avec vos équipes et de les transmettre à des partenaires, avec une analyse antivirus systématique et un hébergement souverain."
    },
    {
        path: "/visio",
        title: "Visio",
        icon: "fr-icon-video-chat-line",
        summary: "Organisez des réunions en visioconférence, depuis votre poste ou votre téléphone.",
        description:
            "Visio permettra de lancer ou de rejoindre une réunion en visioconférence en un clic, avec partage d'écran, depuis un navigateur, sans installer de logiciel."
    }
];
