package clientapi

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"bureau/services/chat/internal/media"
	"bureau/services/chat/internal/store"
)

// registerMedia mounts the content repository: authenticated media (spec
// v1.11) under /_matrix/client/v1/media, uploads under /_matrix/media, and
// the deprecated unauthenticated downloads when LegacyMedia is on.
func (a *API) registerMedia(mux *http.ServeMux, instrument func(string, http.Handler) http.Handler) {
	if a.cfg.Media == nil {
		return
	}
	h := func(pattern, name string, f http.HandlerFunc) { mux.Handle(pattern, instrument(name, f)) }
	const v1 = "/_matrix/client/v1/media"
	h("GET "+v1+"/config", "media_config", a.authed(a.mediaConfig))
	h("GET /_matrix/media/v3/config", "media_config", a.authed(a.mediaConfig))
	h("GET "+v1+"/download/{serverName}/{mediaId}", "media_download", a.authed(a.mediaDownloadAuthed))
	h("GET "+v1+"/download/{serverName}/{mediaId}/{fileName}", "media_download", a.authed(a.mediaDownloadAuthed))
	h("GET "+v1+"/thumbnail/{serverName}/{mediaId}", "media_thumbnail", a.authed(a.mediaThumbnailAuthed))
	h("GET "+v1+"/preview_url", "media_preview", a.authed(a.mediaPreview))
	h("POST /_matrix/media/v3/upload", "media_upload", a.authed(a.mediaUpload))
	h("POST /_matrix/media/v1/create", "media_create", a.authed(a.mediaCreate))
	h("PUT /_matrix/media/v3/upload/{serverName}/{mediaId}", "media_upload", a.authed(a.mediaUploadTo))
	if a.cfg.LegacyMedia {
		for _, v := range []string{"r0", "v3"} {
			p := "/_matrix/media/" + v
			h("GET "+p+"/download/{serverName}/{mediaId}", "media_download_legacy", a.mediaDownload)
			h("GET "+p+"/download/{serverName}/{mediaId}/{fileName}", "media_download_legacy", a.mediaDownload)
			h("GET "+p+"/thumbnail/{serverName}/{mediaId}", "media_thumbnail_legacy", a.mediaThumbnail)
		}
	}
}

func (a *API) mediaConfig(w http.ResponseWriter, _ *http.Request, _ store.Device) {
	writeJSON(w, http.StatusOK, map[string]any{"m.upload.size": a.cfg.Media.MaxUploadSize()})
}

// mediaPreview: URL previews would make the server fetch arbitrary outside
// addresses on behalf of agents; they are off, as on Tchap.
func (a *API) mediaPreview(w http.ResponseWriter, _ *http.Request, _ store.Device) {
	writeJSON(w, http.StatusNotFound, map[string]string{"errcode": "M_UNRECOGNIZED", "error": "URL previews are disabled on this server"})
}

func (a *API) upload(r *http.Request) media.Upload {
	return media.Upload{Body: r.Body, Size: r.ContentLength, ContentType: r.Header.Get("Content-Type"), Filename: r.URL.Query().Get("filename")}
}

func (a *API) mediaUpload(w http.ResponseWriter, r *http.Request, dev store.Device) {
	id, err := a.cfg.Media.Upload(r.Context(), dev.UserID, a.upload(r))
	if err != nil {
		a.mediaFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"content_uri": "mxc://" + a.cfg.ServerName + "/" + id})
}

func (a *API) mediaCreate(w http.ResponseWriter, r *http.Request, dev store.Device) {
	id, exp, err := a.cfg.Media.Create(r.Context(), dev.UserID)
	if err != nil {
		a.mediaFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"content_uri": "mxc://" + a.cfg.ServerName + "/" + id, "unused_expires_at": exp.UnixMilli()})
}

func (a *API) mediaUploadTo(w http.ResponseWriter, r *http.Request, dev store.Device) {
	id, err := a.localMedia(r)
	if err == nil {
		err = a.cfg.Media.UploadTo(r.Context(), dev.UserID, id, a.upload(r))
	}
	if err != nil {
		a.mediaFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// localMedia returns the path's media id if it names media of this server.
// There is no federation yet: other servers' media are unknown here, and
// no outside request is ever made for them.
func (a *API) localMedia(r *http.Request) (string, error) {
	id := r.PathValue("mediaId")
	if !media.ValidID(id) {
		return "", badParam("Invalid media id")
	}
	if r.PathValue("serverName") != a.cfg.ServerName {
		return "", media.ErrNotFound
	}
	return id, nil
}

// waitParam is timeout_ms: how long a download waits for an upload or a
// scan in progress (spec default 20 s), at most a minute.
func waitParam(r *http.Request) (time.Duration, error) {
	v := r.URL.Query().Get("timeout_ms")
	if v == "" {
		return 20 * time.Second, nil
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms < 0 {
		return 0, badParam("timeout_ms must be a non-negative integer")
	}
	return min(time.Duration(ms)*time.Millisecond, time.Minute), nil
}

// ready resolves the path to a servable entry.
func (a *API) ready(r *http.Request) (store.Media, error) {
	id, err := a.localMedia(r)
	if err != nil {
		return store.Media{}, err
	}
	wait, err := waitParam(r)
	if err != nil {
		return store.Media{}, err
	}
	return a.cfg.Media.Ready(r.Context(), id, wait)
}

func (a *API) mediaDownloadAuthed(w http.ResponseWriter, r *http.Request, _ store.Device) {
	a.mediaDownload(w, r)
}

func (a *API) mediaDownload(w http.ResponseWriter, r *http.Request) {
	m, err := a.ready(r)
	if err != nil {
		a.mediaFail(w, r, err)
		return
	}
	name := m.Filename
	if f := r.PathValue("fileName"); f != "" {
		name = media.CleanFilename(f)
	}
	a.serveBlob(w, r, m.BlobKey, m.Size, m.ContentType, name, m.SHA256, m.CreatedTS)
}

// ThumbnailParams parses a thumbnail request's query: positive width and
// height, method crop or scale (default scale).
func ThumbnailParams(q map[string][]string) (width, height int, method string, err error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	width, werr := strconv.Atoi(get("width"))
	height, herr := strconv.Atoi(get("height"))
	if werr != nil || herr != nil || width <= 0 || height <= 0 || width > 10000 || height > 10000 {
		return 0, 0, "", badParam("width and height must be integers between 1 and 10000")
	}
	method = get("method")
	switch method {
	case "":
		method = "scale"
	case "crop", "scale":
	default:
		return 0, 0, "", badParam("method must be crop or scale")
	}
	return width, height, method, nil
}

func (a *API) mediaThumbnailAuthed(w http.ResponseWriter, r *http.Request, _ store.Device) {
	a.mediaThumbnail(w, r)
}

func (a *API) mediaThumbnail(w http.ResponseWriter, r *http.Request) {
	width, height, method, err := ThumbnailParams(r.URL.Query())
	if err != nil {
		a.mediaFail(w, r, err)
		return
	}
	m, err := a.ready(r)
	if err != nil {
		a.mediaFail(w, r, err)
		return
	}
	t, err := a.cfg.Media.Thumbnail(r.Context(), m, width, height, method)
	if err != nil {
		a.mediaFail(w, r, err)
		return
	}
	ext := ".png"
	if t.ContentType == "image/jpeg" {
		ext = ".jpg"
	}
	a.serveBlob(w, r, t.BlobKey, t.Size, t.ContentType, "thumbnail"+ext, m.SHA256+"-"+strconv.Itoa(t.Width)+"x"+strconv.Itoa(t.Height)+t.Method, m.CreatedTS)
}

// inlineTypes may be shown by the browser; anything else is an attachment
// (Synapse's list: no HTML, SVG or XML, which could run scripts).
var inlineTypes = map[string]bool{
	"text/css": true, "text/plain": true, "text/csv": true, "application/json": true, "application/ld+json": true,
	"image/jpeg": true, "image/gif": true, "image/png": true, "image/apng": true, "image/webp": true, "image/avif": true,
	"video/mp4": true, "video/webm": true, "video/ogg": true, "video/quicktime": true,
	"audio/mp4": true, "audio/webm": true, "audio/aac": true, "audio/mpeg": true, "audio/ogg": true,
	"audio/wave": true, "audio/wav": true, "audio/x-wav": true, "audio/x-pn-wav": true, "audio/flac": true, "audio/x-flac": true,
}

// mediaCSP forbids any active content, should a browser render a download
// as a page (Synapse's policy).
const mediaCSP = "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; media-src 'self'; object-src 'self';"

// ContentDisposition is inline for inlineTypes, attachment otherwise, with
// the filename (RFC 6266, filename* for non-ASCII names).
func ContentDisposition(contentType, filename string) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	kind := "attachment"
	if inlineTypes[mt] {
		kind = "inline"
	}
	if filename != "" {
		if d := mime.FormatMediaType(kind, map[string]string{"filename": filename}); d != "" {
			return d
		}
	}
	return kind
}

func (a *API) serveBlob(w http.ResponseWriter, r *http.Request, key string, size int64, contentType, filename, etag string, created int64) {
	ct := contentType
	if mt, params, err := mime.ParseMediaType(ct); err == nil && strings.HasPrefix(mt, "text/") && params["charset"] == "" {
		params["charset"] = "utf-8"
		ct = mime.FormatMediaType(mt, params)
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", ContentDisposition(contentType, filename))
	h.Set("Content-Security-Policy", mediaCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	// Content never changes under an id; private: the answer depends on
	// the access token.
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	h.Set("ETag", `"`+etag+`"`)
	rs := a.cfg.Media.Open(r.Context(), key, size)
	defer rs.Close()
	http.ServeContent(w, r, "", time.UnixMilli(created), rs)
}

// mediaFail maps the content repository's errors to the spec's errcodes.
func (a *API) mediaFail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, media.ErrNotFound):
		err = errf(http.StatusNotFound, "M_NOT_FOUND", "Media not found")
	case errors.Is(err, media.ErrTooLarge):
		err = errf(http.StatusRequestEntityTooLarge, "M_TOO_LARGE", "Content exceeds the maximum upload size ("+strconv.FormatInt(a.cfg.Media.MaxUploadSize(), 10)+" bytes)")
	case errors.Is(err, media.ErrNotYetUploaded):
		err = errf(http.StatusGatewayTimeout, "M_NOT_YET_UPLOADED", "The content is not yet uploaded or not yet scanned by the antivirus")
	case errors.Is(err, media.ErrCannotOverwrite):
		err = errf(http.StatusConflict, "M_CANNOT_OVERWRITE_MEDIA", "Media already uploaded")
	case errors.Is(err, media.ErrForbidden):
		err = errf(http.StatusForbidden, "M_FORBIDDEN", "This media id was created by another user")
	case errors.Is(err, media.ErrQuotaExceeded):
		// MSC4335 (merged; Synapse's media_upload_limits answer the same):
		// a per-user limit, neither M_TOO_LARGE (one request) nor
		// M_RESOURCE_LIMIT_EXCEEDED (the whole server).
		quota, info := a.cfg.Media.UserQuota()
		writeJSON(w, http.StatusForbidden, map[string]any{"errcode": "M_USER_LIMIT_EXCEEDED",
			"error":    fmt.Sprintf("Media storage quota of %.1f GiB reached: delete files or ask your administrator", float64(quota)/(1<<30)),
			"info_uri": info, "soft_limit": false})
		return
	case errors.Is(err, media.ErrTooManyPending):
		err = errf(http.StatusTooManyRequests, "M_LIMIT_EXCEEDED", "Too many media created and not yet uploaded")
	case errors.Is(err, media.ErrCannotThumbnail):
		err = errf(http.StatusBadRequest, "M_UNKNOWN", "Cannot generate a thumbnail of this content")
	case errors.Is(err, media.ErrThumbnailSource):
		err = errf(http.StatusRequestEntityTooLarge, "M_TOO_LARGE", "Content too large to thumbnail")
	case errors.Is(err, media.ErrNotClean):
		// Tchap's content scanner answers this way; its clients know the
		// errcode and show the file as blocked.
		info, msg := "***VIRUS DETECTED***", "This file was blocked by the antivirus"
		if errors.Is(err, media.ErrUnscannable) {
			info, msg = "***UNSCANNABLE***", "This file could not be scanned by the antivirus and is blocked"
		}
		writeJSON(w, http.StatusForbidden, map[string]string{"errcode": "MCS_MEDIA_NOT_CLEAN", "reason": "MCS_MEDIA_NOT_CLEAN", "info": info, "error": msg})
		return
	}
	a.fail(w, r, err)
}
