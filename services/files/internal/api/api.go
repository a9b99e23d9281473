// Package api is the HTTP face of the files service under /api/files/:
// JSON endpoints for spaces and the tree, plain PUT and tus 1.0 uploads,
// and downloads. Handlers parse and answer; drive decides.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"bureau/services/files/internal/drive"
	"bureau/services/platform/httpx"
	"bureau/services/platform/identity"
	"bureau/services/platform/offload"
	"bureau/services/platform/service"
)

// API serves the routes.
type API struct {
	svc *drive.Service
	log *slog.Logger
}

// Mount adds the routes to mux, each instrumented under its own name.
func Mount(mux *http.ServeMux, base *service.Base, svc *drive.Service) {
	a := &API{svc: svc, log: base.Log}
	route := func(pattern, name string, h func(http.ResponseWriter, *http.Request, identity.User)) {
		mux.Handle(pattern, base.Metrics.Instrument(name, a.authed(h)))
	}
	mux.Handle("GET /api/files/whoami", base.Metrics.Instrument("whoami", http.HandlerFunc(service.WhoAmI)))
	route("GET /api/files/me/quota", "my_quota", a.myQuota)
	route("GET /api/files/search", "search", a.search)
	route("GET /api/files/spaces", "spaces_list", a.listSpaces)
	route("POST /api/files/spaces", "spaces_create", a.createSpace)
	route("GET /api/files/spaces/{space}", "space_get", a.getSpace)
	route("PUT /api/files/spaces/{space}/quota", "space_quota", a.setQuota)
	route("GET /api/files/spaces/{space}/members", "members_list", a.listMembers)
	route("POST /api/files/spaces/{space}/members", "members_add", a.addMember)
	route("PATCH /api/files/spaces/{space}/members/{user}", "members_role", a.setRole)
	route("DELETE /api/files/spaces/{space}/members/{user}", "members_remove", a.removeMember)
	route("DELETE /api/files/spaces/{space}/invitations/{email}", "invitations_cancel", a.cancelInvitation)
	route("GET /api/files/spaces/{space}/nodes", "nodes_list", a.listNodes)
	route("POST /api/files/spaces/{space}/folders", "folders_create", a.createFolder)
	route("GET /api/files/spaces/{space}/nodes/{node}", "node_get", a.getNode)
	route("PATCH /api/files/spaces/{space}/nodes/{node}", "node_place", a.placeNode)
	route("DELETE /api/files/spaces/{space}/nodes/{node}", "node_delete", a.deleteNode)
	route("GET /api/files/spaces/{space}/nodes/{node}/content", "download", a.download)
	route("POST /api/files/spaces/{space}/nodes/{node}/copy", "node_copy", a.copyNode)
	route("GET /api/files/spaces/{space}/nodes/{node}/zip", "download_zip", a.downloadZip)
	route("GET /api/files/spaces/{space}/zip", "download_selection", a.downloadSelection)
	route("PUT /api/files/spaces/{space}/content", "put", a.put)
	route("GET /api/files/spaces/{space}/trash", "trash_list", a.listTrash)
	route("POST /api/files/spaces/{space}/trash/{node}/restore", "trash_restore", a.restore)
	route("GET /api/files/spaces/{space}/nodes/{node}/versions", "versions_list", a.listVersions)
	route("GET /api/files/spaces/{space}/nodes/{node}/versions/{version}/content", "version_download", a.downloadVersion)
	route("POST /api/files/spaces/{space}/nodes/{node}/versions/{version}/restore", "version_restore", a.restoreVersion)
	route("GET /api/files/spaces/{space}/links", "links_list", a.listLinks)
	route("POST /api/files/spaces/{space}/links", "links_create", a.createLink)
	route("DELETE /api/files/spaces/{space}/links/{link}", "links_revoke", a.revokeLink)
	route("GET /api/files/spaces/{space}/audit", "audit", a.auditLog)
	// Share links: public, the token is the capability.
	pub := func(pattern, name string, h http.HandlerFunc) { mux.Handle(pattern, base.Metrics.Instrument(name, h)) }
	pub("GET /api/files/links/{token}", "link_info", a.linkInfo)
	pub("GET /api/files/links/{token}/nodes", "link_list", a.linkList)
	pub("GET /api/files/links/{token}/content", "link_download", a.linkDownload)
	pub("PUT /api/files/links/{token}/content", "link_upload", a.linkUpload)
	pub("GET /api/files/links/{token}/zip", "link_zip", a.linkZip)
	mux.Handle("OPTIONS /api/files/uploads", base.Metrics.Instrument("tus_options", http.HandlerFunc(a.tusOptions)))
	route("POST /api/files/uploads", "tus_create", a.tusCreate)
	route("HEAD /api/files/uploads/{id}", "tus_head", a.tusHead)
	route("PATCH /api/files/uploads/{id}", "tus_patch", a.tusPatch)
	route("DELETE /api/files/uploads/{id}", "tus_delete", a.tusDelete)
}

// authed requires the gateway's identity, and records the agent's
// arrival (their pending invitations become memberships).
func (a *API) authed(h func(http.ResponseWriter, *http.Request, identity.User)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := identity.FromContext(r.Context())
		if !ok {
			httpx.WriteError(w, http.StatusUnauthorized, "unauthenticated", "Vous n'êtes pas connecté.")
			return
		}
		if err := a.svc.Arrive(r.Context(), u); err != nil {
			a.fail(w, r, err)
			return
		}
		h(w, r, u)
	})
}

// fail answers err: a drive.Error as itself, anything else as a 500 whose
// cause is logged, not shown.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) { Fail(a.log, w, r, err) }

// Fail answers err: a drive.Error as itself, anything else as a 500 whose
// cause is logged, not shown.
func Fail(log *slog.Logger, w http.ResponseWriter, r *http.Request, err error) {
	var de *drive.Error
	switch {
	case errors.As(err, &de):
		httpx.WriteError(w, de.Status, de.Code, de.Message)
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client left; nobody reads the answer.
	default:
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		httpx.WriteError(w, http.StatusInternalServerError, "internal", "Une erreur interne est survenue.")
	}
}

func badRequest(w http.ResponseWriter, code, message string) {
	httpx.WriteError(w, http.StatusBadRequest, code, message)
}

// decode reads a small JSON body strictly.
func decode(w http.ResponseWriter, r *http.Request, dst any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		badRequest(w, "invalid_json", "Corps de requête JSON invalide.")
		return false
	}
	return true
}

func (a *API) listSpaces(w http.ResponseWriter, r *http.Request, u identity.User) {
	spaces, err := a.svc.Spaces(r.Context(), u)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"spaces": spaces})
}

func (a *API) myQuota(w http.ResponseWriter, r *http.Request, u identity.User) {
	q, err := a.svc.MyQuota(r.Context(), u)
	a.reply(w, r, http.StatusOK, q, err)
}

func (a *API) search(w http.ResponseWriter, r *http.Request, u identity.User) {
	q := r.URL.Query()
	limit, err := atoiOr(q.Get("limit"), 0)
	if err != nil {
		badRequest(w, "invalid_query", "Paramètre limit invalide.")
		return
	}
	page, err := a.svc.Search(r.Context(), u, q.Get("q"), q.Get("cursor"), limit)
	a.reply(w, r, http.StatusOK, page, err)
}

func (a *API) createSpace(w http.ResponseWriter, r *http.Request, u identity.User) {
	var in struct {
		Name string `json:"name"`
	}
	if !decode(w, r, &in) {
		return
	}
	sp, err := a.svc.CreateSpace(r.Context(), u, in.Name)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, sp)
}

func (a *API) getSpace(w http.ResponseWriter, r *http.Request, u identity.User) {
	sp, err := a.svc.Space(r.Context(), u, r.PathValue("space"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, sp)
}

func (a *API) setQuota(w http.ResponseWriter, r *http.Request, u identity.User) {
	var in struct {
		Quota *int64 `json:"quota"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.Quota == nil {
		badRequest(w, "invalid_quota", "Indiquez le quota en octets (0 : quota par défaut).")
		return
	}
	sp, err := a.svc.SetSpaceQuota(r.Context(), u, r.PathValue("space"), *in.Quota)
	a.reply(w, r, http.StatusOK, sp, err)
}

func (a *API) listMembers(w http.ResponseWriter, r *http.Request, u identity.User) {
	ms, err := a.svc.Members(r.Context(), u, r.PathValue("space"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"members": ms})
}

func (a *API) addMember(w http.ResponseWriter, r *http.Request, u identity.User) {
	var in struct {
		UserID string `json:"user_id"`
		Email  string `json:"email"`
		Role   string `json:"role"`
	}
	if !decode(w, r, &in) {
		return
	}
	m, err := a.svc.AddMember(r.Context(), u, r.PathValue("space"), in.UserID, in.Email, in.Role)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, m)
}

func (a *API) setRole(w http.ResponseWriter, r *http.Request, u identity.User) {
	var in struct {
		Role string `json:"role"`
	}
	if !decode(w, r, &in) {
		return
	}
	m, err := a.svc.SetRole(r.Context(), u, r.PathValue("space"), r.PathValue("user"), in.Role)
	a.reply(w, r, http.StatusOK, m, err)
}

// reply answers v as JSON with status, or err.
func (a *API) reply(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, status, v)
}

func (a *API) removeMember(w http.ResponseWriter, r *http.Request, u identity.User) {
	a.noContent(w, r, a.svc.RemoveMember(r.Context(), u, r.PathValue("space"), r.PathValue("user")))
}

func (a *API) cancelInvitation(w http.ResponseWriter, r *http.Request, u identity.User) {
	a.noContent(w, r, a.svc.CancelInvitation(r.Context(), u, r.PathValue("space"), r.PathValue("email")))
}

// noContent answers 204, or err.
func (a *API) noContent(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) listNodes(w http.ResponseWriter, r *http.Request, u identity.User) {
	q := r.URL.Query()
	limit, err1 := atoiOr(q.Get("limit"), 0)
	offset, err2 := atoiOr(q.Get("offset"), 0)
	order := q.Get("order")
	if err1 != nil || err2 != nil || (order != "" && order != "asc" && order != "desc") {
		badRequest(w, "invalid_query", "Paramètres de pagination ou d'ordre invalides.")
		return
	}
	page, err := a.svc.List(r.Context(), u, r.PathValue("space"), q.Get("parent"), q.Get("sort"), order == "desc", limit, offset)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, page)
}

func atoiOr(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	return strconv.Atoi(s)
}

func (a *API) createFolder(w http.ResponseWriter, r *http.Request, u identity.User) {
	var in struct {
		Parent string `json:"parent"`
		Name   string `json:"name"`
	}
	if !decode(w, r, &in) {
		return
	}
	n, err := a.svc.CreateFolder(r.Context(), u, r.PathValue("space"), in.Parent, in.Name)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, n)
}

func (a *API) getNode(w http.ResponseWriter, r *http.Request, u identity.User) {
	n, err := a.svc.Node(r.Context(), u, r.PathValue("space"), r.PathValue("node"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, n)
}

func (a *API) placeNode(w http.ResponseWriter, r *http.Request, u identity.User) {
	var in struct {
		Name   *string `json:"name"`
		Parent *string `json:"parent"`
		Space  string  `json:"space"`
	}
	if !decode(w, r, &in) {
		return
	}
	space := r.PathValue("space")
	var n any
	var err error
	if in.Space != "" && in.Space != space {
		// Across spaces: the target folder is required ("" = its root).
		parent := ""
		if in.Parent != nil {
			parent = *in.Parent
		}
		n, err = a.svc.MoveToSpace(r.Context(), u, space, r.PathValue("node"), in.Space, parent, in.Name)
	} else {
		n, err = a.svc.Place(r.Context(), u, space, r.PathValue("node"), in.Name, in.Parent)
	}
	a.reply(w, r, http.StatusOK, n, err)
}

func (a *API) copyNode(w http.ResponseWriter, r *http.Request, u identity.User) {
	var in struct {
		Space  string  `json:"space"`
		Parent string  `json:"parent"`
		Name   *string `json:"name"`
	}
	if !decode(w, r, &in) {
		return
	}
	n, err := a.svc.Copy(r.Context(), u, r.PathValue("space"), r.PathValue("node"), in.Space, in.Parent, in.Name)
	a.reply(w, r, http.StatusCreated, n, err)
}

// downloadZip streams a folder as a zip archive.
func (a *API) downloadZip(w http.ResponseWriter, r *http.Request, u identity.User) {
	arc, err := a.svc.Zip(r.Context(), u, r.PathValue("space"), r.PathValue("node"))
	a.streamZip(w, r, arc, err)
}

// downloadSelection streams several items of a space (?nodes=id,id…) as
// one zip archive.
func (a *API) downloadSelection(w http.ResponseWriter, r *http.Request, u identity.User) {
	var ids []string
	for _, v := range r.URL.Query()["nodes"] {
		ids = append(ids, strings.Split(v, ",")...)
	}
	arc, err := a.svc.ZipSelection(r.Context(), u, r.PathValue("space"), ids)
	a.streamZip(w, r, arc, err)
}

// streamZip answers arc as a zip stream, or err. Refusals come before
// the first byte; a failure once streaming has begun aborts the
// connection, so that the client sees a truncated download, not a valid
// short zip.
func (a *API) streamZip(w http.ResponseWriter, r *http.Request, arc drive.Archive, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", attachment(arc.Name+".zip"))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
	if err := a.svc.WriteZip(r.Context(), w, arc); err != nil {
		if r.Context().Err() == nil {
			a.log.Error("zip stream", "path", r.URL.Path, "err", err)
		}
		panic(http.ErrAbortHandler)
	}
}

// attachment is a Content-Disposition for a download named name.
func attachment(name string) string {
	disp := mime.FormatMediaType("attachment", map[string]string{"filename": name})
	if disp == "" || strings.ContainsAny(disp, "\r\n") {
		return "attachment"
	}
	return disp
}

func (a *API) deleteNode(w http.ResponseWriter, r *http.Request, u identity.User) {
	a.noContent(w, r, a.svc.Delete(r.Context(), u, r.PathValue("space"), r.PathValue("node")))
}

func (a *API) listTrash(w http.ResponseWriter, r *http.Request, u identity.User) {
	items, err := a.svc.Trash(r.Context(), u, r.PathValue("space"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (a *API) restore(w http.ResponseWriter, r *http.Request, u identity.User) {
	n, err := a.svc.Restore(r.Context(), u, r.PathValue("space"), r.PathValue("node"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, n)
}

// put stores a small file in one request: PUT …/content?parent=ID&name=N
// with a Content-Length. Refusals come before the body is read, so a
// client sending "Expect: 100-continue" sends nothing refused.
func (a *API) put(w http.ResponseWriter, r *http.Request, u identity.User) {
	if r.ContentLength < 0 {
		httpx.WriteError(w, http.StatusLengthRequired, "length_required", "L'en-tête Content-Length est obligatoire.")
		return
	}
	q := r.URL.Query()
	t := drive.Target{Space: r.PathValue("space"), Parent: q.Get("parent"), Name: q.Get("name"), ContentType: r.Header.Get("Content-Type")}
	n, err := a.svc.Put(r.Context(), u, t, r.Body, r.ContentLength)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, n)
}

// download streams a file with Range, ETag/If-None-Match and
// Last-Modified handled by http.ServeContent; always as an attachment,
// under a CSP sandbox, so that no uploaded page runs in the suite's
// origin.
func (a *API) download(w http.ResponseWriter, r *http.Request, u identity.User) {
	c, err := a.svc.Open(r.Context(), u, r.PathValue("space"), r.PathValue("node"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	defer c.Body.Close()
	ServeContent(w, r, c)
}

// ServeContent streams c as an attachment under a CSP sandbox, with Range,
// ETag (the version id) and Last-Modified; through the gateway, the bytes
// themselves usually come straight from the object store (see package
// offload).
func ServeContent(w http.ResponseWriter, r *http.Request, c drive.Content) {
	h := w.Header()
	h.Set("ETag", `"`+c.Node.VersionID+`"`)
	h.Set("Content-Type", c.Node.ContentType)
	h.Set("Content-Disposition", attachment(c.Node.Name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "private, no-cache")
	offload.ServeContent(w, r, c.ModTime, c.Body)
}

func (a *API) listVersions(w http.ResponseWriter, r *http.Request, u identity.User) {
	vs, err := a.svc.Versions(r.Context(), u, r.PathValue("space"), r.PathValue("node"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"versions": vs})
}

func (a *API) downloadVersion(w http.ResponseWriter, r *http.Request, u identity.User) {
	c, err := a.svc.OpenVersion(r.Context(), u, r.PathValue("space"), r.PathValue("node"), r.PathValue("version"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	defer c.Body.Close()
	ServeContent(w, r, c)
}

func (a *API) restoreVersion(w http.ResponseWriter, r *http.Request, u identity.User) {
	n, err := a.svc.RestoreVersion(r.Context(), u, r.PathValue("space"), r.PathValue("node"), r.PathValue("version"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, n)
}
