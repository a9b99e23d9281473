// Package drive is what the files service does, between the HTTP handlers
// and the store: who may see and change which space, the tree operations,
// plain and resumable uploads onto the blob store, and downloads gated by
// the antivirus verdict.
//
// Every operation takes the calling agent and checks membership first; a
// space the agent is not a member of — and everything in it — is reported
// as not found, never as forbidden, so that its existence does not leak.
package drive

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"bureau/services/files/internal/names"
	"bureau/services/files/internal/store"
	"bureau/services/platform/blob"
	"bureau/services/platform/bus"
	"bureau/services/platform/identity"
)

// Error is a failure to show the agent: Status is the HTTP status it maps
// to, Code a stable machine-readable code, Message French text.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func fail(status int, code, message string) error { return &Error{status, code, message} }

var (
	errSpaceNotFound = fail(http.StatusNotFound, "space_not_found", "Cet espace n'existe pas ou vous n'y avez pas accès.")
	errNodeNotFound  = fail(http.StatusNotFound, "not_found", "Ce fichier ou dossier n'existe pas.")
	errParent        = fail(http.StatusNotFound, "parent_not_found", "Le dossier de destination n'existe pas.")
	errNameTaken     = fail(http.StatusConflict, "name_taken", "Un élément porte déjà ce nom dans ce dossier.")
	errReadOnly      = fail(http.StatusForbidden, "forbidden", "Votre rôle dans cet espace ne permet pas cette action.")
)

// Config tunes the service.
type Config struct {
	// Offload lets the gateway fetch download bodies from the object store
	// itself, through presigned URLs (see package offload), when the
	// store can make them.
	Offload       bool
	MaxUploadSize int64
	// MaxZipSize bounds the bytes of a folder downloaded as a zip (0:
	// unlimited).
	MaxZipSize int64
	PartSize   int64 // multipart part size, >= blob.MinPartSize
	// UploadLease is how long a PATCH's lease on its upload lasts unless
	// renewed (it is, every third of it, while the PATCH runs); after a
	// crash, the upload can be resumed elsewhere once it lapses. 0: 15 s.
	UploadLease time.Duration
	// KeepVersions is how many versions of a file are kept, the current
	// one included (0: all).
	KeepVersions int
	// Quota is the default quota of a space in bytes (0: unlimited).
	Quota int64
	// AgentQuota bounds the bytes each agent has uploaded, in all spaces
	// (0: unlimited).
	AgentQuota int64
	// AgentQuotas overrides AgentQuota for some agents, by agent id or
	// lower-case email (0: unlimited).
	AgentQuotas map[string]int64
	// MaxSpaceQuota is the largest quota a space owner may set (0: the
	// default quota is the ceiling; both 0: none).
	MaxSpaceQuota int64
	// InvitationTTL is how long an invitation by email stays valid (0:
	// 30 days).
	InvitationTTL time.Duration
	// Bus carries the live notifications (files.added, files.shared,
	// files.link_used); nil: none.
	Bus bus.Bus
	// Scanning: an antivirus scans new versions; without one they are
	// marked skipped and served unscanned (development only).
	Scanning bool
}

// Service implements the operations.
type Service struct {
	store     *store.Store
	blobs     blob.Store
	mp        blob.Multipart
	cfg       Config
	log       *slog.Logger
	now       func() time.Time
	locks     locks
	bufs      sync.Pool
	scanned   func() // wakes the scanner when a version awaits it
	linkFails attempts
	linkUsed  throttle
	seen      sync.Map // agent id → email, once Arrive recorded them
}

// New returns the service. blobs must also implement blob.Multipart (both
// Disk and S3 do); scanned is called when a new version awaits a scan.
func New(st *store.Store, blobs blob.Store, cfg Config, log *slog.Logger, scanned func()) (*Service, error) {
	mp, ok := blobs.(blob.Multipart)
	if !ok {
		return nil, errors.New("drive: the blob store does not support multipart uploads")
	}
	if cfg.PartSize < blob.MinPartSize {
		return nil, fmt.Errorf("drive: part size %d below %d", cfg.PartSize, blob.MinPartSize)
	}
	if scanned == nil {
		scanned = func() {}
	}
	if cfg.UploadLease <= 0 {
		cfg.UploadLease = 15 * time.Second
	}
	if cfg.InvitationTTL <= 0 {
		cfg.InvitationTTL = 30 * 24 * time.Hour
	}
	s := &Service{store: st, blobs: blobs, mp: mp, cfg: cfg, log: log, now: time.Now, scanned: scanned}
	s.bufs.New = func() any { b := make([]byte, cfg.PartSize); return &b }
	return s, nil
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newID returns 128 random bits in lowercase base32 (26 characters).
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return strings.ToLower(idEncoding.EncodeToString(b[:]))
}

var idPattern = regexp.MustCompile(`^[a-z2-7]{26}$`)

// ValidID reports whether s can be an id; anything else is not found
// without a query.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// blobKey is where a version's bytes live: spread over 1024 prefixes,
// which S3 implementations partition on.
func blobKey(version string) string { return "v/" + version[:2] + "/" + version }

func checkName(name string) error {
	if err := names.Validate(name); err != nil {
		return fail(http.StatusBadRequest, "invalid_name", "Nom invalide : "+err.Error()+".")
	}
	return nil
}

// access returns space id with u's role, requiring at least role min.
func (s *Service) access(ctx context.Context, u identity.User, space, min string) (store.Space, error) {
	if !ValidID(space) {
		return store.Space{}, errSpaceNotFound
	}
	sp, err := s.store.SpaceFor(ctx, space, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		return sp, errSpaceNotFound
	}
	if err != nil {
		return sp, err
	}
	if store.RoleRank(sp.Role) < store.RoleRank(min) {
		return sp, errReadOnly
	}
	return sp, nil
}

// maxDepth bounds the walk up a tree (and thereby nesting).
const maxDepth = 200

// liveNode returns node id if neither it nor any of its ancestors is in
// the trash.
func (s *Service) liveNode(ctx context.Context, space, id string) (store.Node, error) {
	if !ValidID(id) {
		return store.Node{}, errNodeNotFound
	}
	n, err := s.store.Node(ctx, space, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && n.TrashedAt != nil) {
		return n, errNodeNotFound
	}
	if err != nil {
		return n, err
	}
	if _, err := s.ancestors(ctx, space, n.ParentID); err != nil {
		return n, err
	}
	return n, nil
}

// ancestors returns the ids from folder up to the root, failing when one
// of them is missing or trashed.
func (s *Service) ancestors(ctx context.Context, space, folder string) ([]string, error) {
	var ids []string
	for id := folder; id != ""; {
		if len(ids) == maxDepth {
			return nil, fail(http.StatusBadRequest, "too_deep", "L'arborescence est trop profonde.")
		}
		n, err := s.store.Node(ctx, space, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (n.TrashedAt != nil || n.Kind != store.KindFolder)) {
			return nil, errNodeNotFound
		}
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
		id = n.ParentID
	}
	return ids, nil
}

// liveFolder checks that folder ("" for the root) is a live folder.
func (s *Service) liveFolder(ctx context.Context, space, folder string) error {
	if folder != "" && !ValidID(folder) {
		return errParent
	}
	if _, err := s.ancestors(ctx, space, folder); err != nil {
		if errors.Is(err, errNodeNotFound) {
			return errParent
		}
		return err
	}
	return nil
}

// locks serialises the requests on one upload within a process.
type locks struct {
	mu sync.Mutex
	m  map[string]*lockEntry
}

type lockEntry struct {
	ch   chan struct{}
	refs int
}

func (l *locks) lock(ctx context.Context, key string) (func(), error) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*lockEntry{}
	}
	e := l.m[key]
	if e == nil {
		e = &lockEntry{ch: make(chan struct{}, 1)}
		l.m[key] = e
	}
	e.refs++
	l.mu.Unlock()
	release := func() {
		l.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(l.m, key)
		}
		l.mu.Unlock()
	}
	select {
	case e.ch <- struct{}{}:
		return func() { <-e.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
