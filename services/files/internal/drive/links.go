package drive

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"bureau/services/files/internal/store"
	"bureau/services/platform/identity"
)

var (
	errLinkNotFound = fail(http.StatusNotFound, "link_not_found", "Ce lien n'existe pas ou a été révoqué.")
	errLinkExpired  = fail(http.StatusGone, "link_expired", "Ce lien a expiré.")
)

// linkRole is the role needed to create, list and revoke share links.
const linkRole = store.RoleEditor

// NewLink describes a share link to create.
type NewLink struct {
	Node      string     `json:"node"`
	Kind      string     `json:"kind"` // read | upload
	Password  string     `json:"password"`
	ExpiresAt *time.Time `json:"expires_at"`
}

var tokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// CreateLink creates a share link on a folder or file of space (editor
// and up); the token is returned once and never stored.
func (s *Service) CreateLink(ctx context.Context, u identity.User, space string, in NewLink) (store.Link, string, error) {
	if _, err := s.access(ctx, u, space, linkRole); err != nil {
		return store.Link{}, "", err
	}
	n, err := s.liveNode(ctx, space, in.Node)
	if err != nil {
		return store.Link{}, "", err
	}
	switch {
	case in.Kind != store.LinkRead && in.Kind != store.LinkUpload:
		return store.Link{}, "", fail(http.StatusBadRequest, "invalid_kind", "Type de lien inconnu : read ou upload.")
	case in.Kind == store.LinkUpload && n.Kind != store.KindFolder:
		return store.Link{}, "", fail(http.StatusBadRequest, "not_a_folder", "Un lien de dépôt se crée sur un dossier.")
	case in.ExpiresAt != nil && !in.ExpiresAt.After(s.now()):
		return store.Link{}, "", fail(http.StatusBadRequest, "invalid_expiry", "La date d'expiration doit être dans le futur.")
	case in.Password != "" && (len(in.Password) < 8 || len(in.Password) > 72):
		return store.Link{}, "", fail(http.StatusBadRequest, "invalid_password", "Le mot de passe du lien doit compter de 8 à 72 octets.")
	}
	var raw [32]byte
	rand.Read(raw[:])
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	l := store.Link{ID: newID(), SpaceID: space, NodeID: n.ID, Kind: in.Kind, TokenHash: hashToken(token),
		ExpiresAt: in.ExpiresAt, CreatedBy: u.ID, CreatedAt: s.now()}
	if in.Password != "" {
		h, err := bcrypt.GenerateFromPassword([]byte(in.Password), bcrypt.DefaultCost)
		if err != nil {
			return l, "", err
		}
		l.PasswordHash, l.HasPassword = string(h), true
	}
	if err := s.store.CreateLink(ctx, l); err != nil {
		return l, "", err
	}
	s.audit(ctx, space, u.ID, "link_created", n.ID, in.Kind)
	return l, token, nil
}

// Links lists the share links of a space (editor and up).
func (s *Service) Links(ctx context.Context, u identity.User, space string) ([]store.Link, error) {
	if _, err := s.access(ctx, u, space, linkRole); err != nil {
		return nil, err
	}
	return s.store.Links(ctx, space)
}

// RevokeLink revokes a link at once (editor and up).
func (s *Service) RevokeLink(ctx context.Context, u identity.User, space, id string) error {
	if _, err := s.access(ctx, u, space, linkRole); err != nil {
		return err
	}
	if !ValidID(id) {
		return errLinkNotFound
	}
	if err := s.store.RevokeLink(ctx, space, id, s.now()); errors.Is(err, store.ErrNotFound) {
		return errLinkNotFound
	} else if err != nil {
		return err
	}
	s.audit(ctx, space, u.ID, "link_revoked", "", id)
	return nil
}

// AuditActions are the actions the log records.
var AuditActions = []string{"upload", "folder_created", "download", "download_zip", "move", "move_out", "move_in", "copy", "delete", "restore",
	"restore_version", "purge", "link_created", "link_revoked", "link_download", "link_zip", "member_added", "member_invited",
	"invitation_accepted", "invitation_cancelled", "invitation_renewed", "member_role", "member_removed", "quota_set"}

// AuditPage is a page of a space's log; Next is the cursor of the
// following page ("" at the end).
type AuditPage struct {
	Entries []store.Audit `json:"entries"`
	Next    string        `json:"next,omitempty"`
}

var errBadCursor = fail(http.StatusBadRequest, "invalid_cursor", "Curseur de pagination invalide.")

// AuditLog returns a page of a space's log, newest first, optionally only
// some actions (manager and up).
func (s *Service) AuditLog(ctx context.Context, u identity.User, space string, actions []string, cursor string, limit int) (AuditPage, error) {
	if _, err := s.access(ctx, u, space, store.RoleManager); err != nil {
		return AuditPage{}, err
	}
	for _, a := range actions {
		if !slices.Contains(AuditActions, a) {
			return AuditPage{}, fail(http.StatusBadRequest, "invalid_action", "Action inconnue : "+a+".")
		}
	}
	after, err := store.ParseCursor(cursor)
	if err != nil {
		return AuditPage{}, errBadCursor
	}
	if limit <= 0 || limit > MaxPage {
		limit = 50
	}
	entries, next, err := s.store.AuditLog(ctx, space, store.AuditQuery{Actions: actions, After: after, Limit: limit})
	if errors.Is(err, store.ErrBadCursor) {
		return AuditPage{}, errBadCursor
	} else if err != nil {
		return AuditPage{}, err
	}
	p := AuditPage{Entries: entries}
	if next != nil {
		p.Next = store.EncodeCursor(*next)
	}
	return p, nil
}

// audit records an entry; a failure is logged, not fatal to the action.
func (s *Service) audit(ctx context.Context, space, actor, action, node, detail string) {
	err := s.store.AddAudit(context.WithoutCancel(ctx), store.Audit{ID: newID(), SpaceID: space, At: s.now(), Actor: actor, Action: action, NodeID: node, Detail: detail})
	if err != nil {
		s.log.Error("audit", "space", space, "action", action, "err", err)
	}
}

// LinkAccess is an opened share link: what it names and nothing else.
type LinkAccess struct {
	Link store.Link
	Root store.Node
}

func (la LinkAccess) actor() string { return "link:" + la.Link.ID }

// Password attempts on a link are limited per link and client address.
const (
	maxLinkFailures = 5
	linkFailWindow  = 15 * time.Minute
)

type attempts struct {
	mu sync.Mutex
	m  map[string]*failures
}

type failures struct {
	n     int
	until time.Time
}

func (a *attempts) blocked(key string, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.m[key]
	return f != nil && f.n >= maxLinkFailures && now.Before(f.until)
}

func (a *attempts) fail(key string, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = map[string]*failures{}
	}
	for k, f := range a.m { // forget old entries now and then
		if len(a.m) > 10000 && now.After(f.until) {
			delete(a.m, k)
		}
	}
	f := a.m[key]
	if f == nil || now.After(f.until) {
		f = &failures{}
		a.m[key] = f
	}
	f.n++
	f.until = now.Add(linkFailWindow)
}

// OpenLink checks a link token (and its password, from client) and
// returns what it gives access to.
func (s *Service) OpenLink(ctx context.Context, token, password, client string) (LinkAccess, error) {
	if !tokenPattern.MatchString(token) {
		return LinkAccess{}, errLinkNotFound
	}
	l, err := s.store.LinkByToken(ctx, hashToken(token))
	if errors.Is(err, store.ErrNotFound) || (err == nil && l.RevokedAt != nil) {
		return LinkAccess{}, errLinkNotFound
	} else if err != nil {
		return LinkAccess{}, err
	}
	now := s.now()
	if l.ExpiresAt != nil && !now.Before(*l.ExpiresAt) {
		return LinkAccess{}, errLinkExpired
	}
	if l.PasswordHash != "" {
		key := l.ID + "|" + client
		if s.linkFails.blocked(key, now) {
			return LinkAccess{}, fail(http.StatusTooManyRequests, "too_many_attempts", "Trop d'essais de mot de passe : réessayez dans quelques minutes.")
		}
		if password == "" {
			return LinkAccess{}, fail(http.StatusUnauthorized, "password_required", "Ce lien est protégé par un mot de passe.")
		}
		if bcrypt.CompareHashAndPassword([]byte(l.PasswordHash), []byte(password)) != nil {
			s.linkFails.fail(key, now)
			return LinkAccess{}, fail(http.StatusUnauthorized, "wrong_password", "Mot de passe incorrect.")
		}
	}
	root, err := s.liveNode(ctx, l.SpaceID, l.NodeID)
	if err != nil {
		return LinkAccess{}, errLinkNotFound // deleted since: the link shows nothing
	}
	return LinkAccess{Link: l, Root: root}, nil
}

var errUploadOnly = fail(http.StatusForbidden, "upload_only", "Ce lien permet seulement de déposer des fichiers.")

// inLink returns live node id if it is the link's root or below it.
func (s *Service) inLink(ctx context.Context, la LinkAccess, id string) (store.Node, error) {
	if id == "" || id == la.Root.ID {
		return la.Root, nil
	}
	n, err := s.liveNode(ctx, la.Link.SpaceID, id)
	if err != nil {
		return n, errNodeNotFound
	}
	chain, err := s.ancestors(ctx, la.Link.SpaceID, n.ParentID)
	if err != nil || !slices.Contains(chain, la.Root.ID) {
		return n, errNodeNotFound
	}
	return n, nil
}

// LinkList lists a folder reachable through a read link.
func (s *Service) LinkList(ctx context.Context, la LinkAccess, folder string, limit, offset int) (Page, error) {
	if la.Link.Kind != store.LinkRead {
		return Page{}, errUploadOnly
	}
	n, err := s.inLink(ctx, la, folder)
	if err != nil {
		return Page{}, err
	}
	if n.Kind != store.KindFolder {
		return Page{}, fail(http.StatusBadRequest, "not_a_folder", "Ce n'est pas un dossier.")
	}
	if limit <= 0 || limit > MaxPage {
		limit = 200
	}
	offset = max(offset, 0)
	items, total, err := s.store.Children(ctx, la.Link.SpaceID, n.ID, "name", false, limit, offset)
	return Page{Items: items, Total: total, Offset: offset, Limit: limit}, err
}

// LinkOpen returns the content of a file reachable through a read link
// ("" for the link's own file).
func (s *Service) LinkOpen(ctx context.Context, la LinkAccess, id string) (Content, error) {
	if la.Link.Kind != store.LinkRead {
		return Content{}, errUploadOnly
	}
	n, err := s.inLink(ctx, la, id)
	if err != nil {
		return Content{}, err
	}
	c, err := s.open(ctx, n)
	if err == nil {
		s.audit(ctx, la.Link.SpaceID, la.actor(), "link_download", n.ID, n.Name)
		s.notifyLinkUsed(ctx, la.Link, "Fichier téléchargé : "+n.Name)
	}
	return c, err
}

// LinkCheckPut authorises a deposit of size bytes through an upload link.
func (s *Service) LinkCheckPut(ctx context.Context, la LinkAccess, name string, size int64) error {
	if la.Link.Kind != store.LinkUpload {
		return fail(http.StatusForbidden, "read_only", "Ce lien permet seulement de consulter.")
	}
	if size > s.cfg.MaxUploadSize {
		return s.errTooLarge()
	}
	if err := checkName(name); err != nil {
		return err
	}
	// A deposit never replaces anything: the depositor cannot see what is
	// there, and must not overwrite it.
	if _, err := s.store.LiveChild(ctx, la.Link.SpaceID, la.Root.ID, name); err == nil {
		return errNameTaken
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return s.checkQuota(ctx, la.Link.SpaceID, "", size)
}

// LinkPut deposits a file through an upload link.
func (s *Service) LinkPut(ctx context.Context, la LinkAccess, name, ct string, r io.Reader, size int64) (store.Node, error) {
	if err := s.LinkCheckPut(ctx, la, name, size); err != nil {
		return store.Node{}, err
	}
	n, err := s.put(ctx, identity.User{ID: la.actor()}, Target{Space: la.Link.SpaceID, Parent: la.Root.ID, Name: name, ContentType: ct}, r, size)
	if err == nil {
		s.notifyLinkUsed(ctx, la.Link, "Fichier déposé : "+n.Name)
	}
	return n, err
}
