package api

import (
	"net"
	"net/http"
	"strings"
	"time"

	"bureau/services/files/internal/drive"
	"bureau/services/files/internal/store"
	"bureau/services/platform/httpx"
	"bureau/services/platform/identity"
)

// LinkPasswordHeader carries a link's password (HTTP Basic's password is
// accepted too, so that a browser can prompt for it). Not Bureau-*: the
// gateway drops every client header of that prefix.
const LinkPasswordHeader = "Link-Password"

func (a *API) createLink(w http.ResponseWriter, r *http.Request, u identity.User) {
	var in drive.NewLink
	if !decode(w, r, &in) {
		return
	}
	l, token, err := a.svc.CreateLink(r.Context(), u, r.PathValue("space"), in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"link": l, "token": token, "path": "/api/files/links/" + token})
}

func (a *API) listLinks(w http.ResponseWriter, r *http.Request, u identity.User) {
	ls, err := a.svc.Links(r.Context(), u, r.PathValue("space"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"links": ls})
}

func (a *API) revokeLink(w http.ResponseWriter, r *http.Request, u identity.User) {
	if err := a.svc.RevokeLink(r.Context(), u, r.PathValue("space"), r.PathValue("link")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// auditLog answers a page of the space's log: ?action=a,b (or repeated)
// filters, ?cursor= continues where the previous page's "next" ended.
func (a *API) auditLog(w http.ResponseWriter, r *http.Request, u identity.User) {
	q := r.URL.Query()
	limit, err := atoiOr(q.Get("limit"), 0)
	if err != nil {
		badRequest(w, "invalid_query", "Paramètre limit invalide.")
		return
	}
	var actions []string
	for _, v := range q["action"] {
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				actions = append(actions, a)
			}
		}
	}
	page, err := a.svc.AuditLog(r.Context(), u, r.PathValue("space"), actions, q.Get("cursor"), limit)
	a.reply(w, r, http.StatusOK, page, err)
}

// publicNode is what a link shows of an item: no space, no agent ids.
type publicNode struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	Name        string    `json:"name"`
	Size        int64     `json:"size"`
	ModifiedAt  time.Time `json:"modified_at"`
	ContentType string    `json:"content_type,omitempty"`
	Scan        string    `json:"scan,omitempty"`
}

func public(n store.Node) publicNode {
	return publicNode{ID: n.ID, Kind: n.Kind, Name: n.Name, Size: n.Size, ModifiedAt: n.ModifiedAt, ContentType: n.ContentType, Scan: n.Scan}
}

// clientIP is the caller's address as the gateway reports it.
func clientIP(r *http.Request) string {
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		first, _, _ := strings.Cut(xff, ",")
		return strings.TrimSpace(first)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// link opens the request's link, answering the refusal if any.
func (a *API) link(w http.ResponseWriter, r *http.Request) (drive.LinkAccess, bool) {
	pw := r.Header.Get(LinkPasswordHeader)
	if _, p, ok := r.BasicAuth(); ok && pw == "" {
		pw = p
	}
	la, err := a.svc.OpenLink(r.Context(), r.PathValue("token"), pw, clientIP(r))
	if err != nil {
		// Basic lets a browser opening the link prompt for the password;
		// not for the web app's own requests (fetch), which ask in the page.
		if de, ok := err.(*drive.Error); ok && de.Code == "password_required" && r.Header.Get("Sec-Fetch-Mode") != "cors" && r.Header.Get("Sec-Fetch-Mode") != "same-origin" {
			w.Header().Set("WWW-Authenticate", `Basic realm="Lien Bureau", charset="UTF-8"`)
		}
		a.fail(w, r, err)
		return la, false
	}
	return la, true
}

func (a *API) linkInfo(w http.ResponseWriter, r *http.Request) {
	la, ok := a.link(w, r)
	if !ok {
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"kind": la.Link.Kind, "expires_at": la.Link.ExpiresAt, "node": public(la.Root)})
}

func (a *API) linkList(w http.ResponseWriter, r *http.Request) {
	la, ok := a.link(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	limit, err1 := atoiOr(q.Get("limit"), 0)
	offset, err2 := atoiOr(q.Get("offset"), 0)
	if err1 != nil || err2 != nil {
		badRequest(w, "invalid_query", "Paramètres de pagination invalides.")
		return
	}
	page, err := a.svc.LinkList(r.Context(), la, q.Get("parent"), limit, offset)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	items := make([]publicNode, len(page.Items))
	for i, n := range page.Items {
		items[i] = public(n)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": items, "total": page.Total, "offset": page.Offset, "limit": page.Limit})
}

func (a *API) linkDownload(w http.ResponseWriter, r *http.Request) {
	la, ok := a.link(w, r)
	if !ok {
		return
	}
	c, err := a.svc.LinkOpen(r.Context(), la, r.URL.Query().Get("node"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	defer c.Body.Close()
	ServeContent(w, r, c)
}

// linkZip streams the link's folder, or a folder below it (?node=), as
// a zip archive.
func (a *API) linkZip(w http.ResponseWriter, r *http.Request) {
	la, ok := a.link(w, r)
	if !ok {
		return
	}
	arc, err := a.svc.LinkZip(r.Context(), la, r.URL.Query().Get("node"))
	a.streamZip(w, r, arc, err)
}

func (a *API) linkUpload(w http.ResponseWriter, r *http.Request) {
	la, ok := a.link(w, r)
	if !ok {
		return
	}
	if r.ContentLength < 0 {
		httpx.WriteError(w, http.StatusLengthRequired, "length_required", "L'en-tête Content-Length est obligatoire.")
		return
	}
	n, err := a.svc.LinkPut(r.Context(), la, r.URL.Query().Get("name"), r.Header.Get("Content-Type"), r.Body, r.ContentLength)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, public(n))
}
