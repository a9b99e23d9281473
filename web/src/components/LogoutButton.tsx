// A real same-origin form POST: the gateway checks Sec-Fetch-Site/Origin, ends
// the session and redirects (303) through the identity provider back to "/".
export function LogoutButton({ id }: { id?: string }) {
    return (
        <form method="post" action="/auth/logout" className="bureau-logout">
            <button id={id} type="submit" className="fr-btn fr-icon-logout-box-r-line">
                Se déconnecter
            </button>
        </form>
    );
}
