package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"bureau/services/files/internal/drive"
	"bureau/services/files/internal/tus"
	"bureau/services/platform/httpx"
	"bureau/services/platform/identity"
)

// The tus 1.0 endpoints: POST /api/files/uploads creates an upload whose
// target is named in Upload-Metadata (space, parent, filename, filetype);
// HEAD, PATCH and DELETE on /api/files/uploads/{id}. Uploads belong to
// the agent who created them: anyone else gets 404.

const uploadsPath = "/api/files/uploads/"

func (a *API) tusHeaders(w http.ResponseWriter) {
	w.Header().Set(tus.HeaderResumable, tus.Version)
	w.Header().Set("Cache-Control", "no-store")
}

func (a *API) tusOptions(w http.ResponseWriter, r *http.Request) {
	a.tusHeaders(w)
	h := w.Header()
	h.Set(tus.HeaderVersion, tus.Version)
	h.Set(tus.HeaderExtension, "creation,termination,checksum")
	h.Set(tus.HeaderMaxSize, strconv.FormatInt(a.svc.MaxUploadSize(), 10))
	h.Set(tus.HeaderChecksums, strings.Join(tus.Checksums, ","))
	w.WriteHeader(http.StatusNoContent)
}

// tusVersion refuses requests for another protocol version.
func (a *API) tusVersion(w http.ResponseWriter, r *http.Request) bool {
	a.tusHeaders(w)
	if r.Header.Get(tus.HeaderResumable) != tus.Version {
		w.Header().Set(tus.HeaderVersion, tus.Version)
		httpx.WriteError(w, http.StatusPreconditionFailed, "tus_version", "Version du protocole tus non prise en charge (1.0.0 attendue).")
		return false
	}
	return true
}

func (a *API) tusCreate(w http.ResponseWriter, r *http.Request, u identity.User) {
	if !a.tusVersion(w, r) {
		return
	}
	if r.Header.Get(tus.HeaderDefer) != "" {
		badRequest(w, "defer_length_unsupported", "La taille du fichier doit être annoncée (Upload-Length).")
		return
	}
	length, err := tus.ParseSize(r.Header.Get(tus.HeaderLength))
	if err != nil {
		badRequest(w, "invalid_upload_length", "En-tête Upload-Length invalide.")
		return
	}
	md, err := tus.ParseMetadata(r.Header.Get(tus.HeaderMetadata))
	if err != nil {
		badRequest(w, "invalid_upload_metadata", "En-tête Upload-Metadata invalide.")
		return
	}
	name := md["filename"]
	if name == "" {
		name = md["name"]
	}
	ct := md["filetype"]
	if ct == "" {
		ct = md["type"]
	}
	t := drive.Target{Space: md["space"], Parent: md["parent"], Name: name, ContentType: ct}
	up, err := a.svc.NewUpload(r.Context(), u, t, length)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", uploadsPath+up.ID)
	w.Header().Set(tus.HeaderOffset, "0")
	if up.Node != nil {
		w.Header().Set("Bureau-File-Id", up.Node.ID)
	}
	w.WriteHeader(http.StatusCreated)
}

func (a *API) tusHead(w http.ResponseWriter, r *http.Request, u identity.User) {
	if !a.tusVersion(w, r) {
		return
	}
	up, err := a.svc.UploadState(r.Context(), u, r.PathValue("id"))
	if err != nil {
		a.tusFail(w, r, err)
		return
	}
	w.Header().Set(tus.HeaderOffset, strconv.FormatInt(up.Offset, 10))
	w.Header().Set(tus.HeaderLength, strconv.FormatInt(up.Length, 10))
	w.WriteHeader(http.StatusOK)
}

// tusFail answers HEAD without a body, as HEAD must.
func (a *API) tusFail(w http.ResponseWriter, r *http.Request, err error) {
	var de *drive.Error
	if r.Method == http.MethodHead && errors.As(err, &de) {
		w.WriteHeader(de.Status)
		return
	}
	a.fail(w, r, err)
}

func (a *API) tusPatch(w http.ResponseWriter, r *http.Request, u identity.User) {
	if !a.tusVersion(w, r) {
		return
	}
	if r.Header.Get("Content-Type") != tus.ContentType {
		httpx.WriteError(w, http.StatusUnsupportedMediaType, "tus_content_type", "Type de contenu "+tus.ContentType+" attendu.")
		return
	}
	offset, err := tus.ParseSize(r.Header.Get(tus.HeaderOffset))
	if err != nil {
		badRequest(w, "invalid_upload_offset", "En-tête Upload-Offset invalide.")
		return
	}
	var sum *drive.Checksum
	if v := r.Header.Get(tus.HeaderChecksum); v != "" {
		alg, digest, err := tus.ParseChecksum(v)
		if err != nil {
			badRequest(w, "invalid_upload_checksum", "En-tête Upload-Checksum invalide ou algorithme non pris en charge (sha1, sha256).")
			return
		}
		sum = &drive.Checksum{Algorithm: alg, Sum: digest}
	}
	up, err := a.svc.Append(r.Context(), u, r.PathValue("id"), offset, r.ContentLength, r.Body, sum)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set(tus.HeaderOffset, strconv.FormatInt(up.Offset, 10))
	if up.Node != nil {
		w.Header().Set("Bureau-File-Id", up.Node.ID)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) tusDelete(w http.ResponseWriter, r *http.Request, u identity.User) {
	if !a.tusVersion(w, r) {
		return
	}
	if err := a.svc.Terminate(r.Context(), u, r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
