// Package media is the Matrix content repository: uploads streamed into the
// blob store with their metadata in the chat database, an antivirus worker
// that must pass every upload before it is served, and thumbnails.
//
// Lifecycle of an entry: reserved (POST /create, bytes to come) → pending
// (bytes stored, scan to come) → clean | infected (blob deleted) |
// unscannable; with scanning off, uploads are recorded unscanned and served.
package media

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"bureau/services/chat/internal/notifier"
	"bureau/services/chat/internal/store"
	"bureau/services/platform/antivirus"
	"bureau/services/platform/blob"
)

var (
	ErrNotFound        = errors.New("media: not found")
	ErrTooLarge        = errors.New("media: content too large")
	ErrNotYetUploaded  = errors.New("media: not yet uploaded or scanned")
	ErrNotClean        = errors.New("media: content not clean")
	ErrUnscannable     = fmt.Errorf("%w: the antivirus could not scan it", ErrNotClean)
	ErrCannotOverwrite = errors.New("media: media already uploaded")
	ErrForbidden       = errors.New("media: reserved by another user")
	ErrTooManyPending  = errors.New("media: too many pending uploads")
	ErrCannotThumbnail = errors.New("media: cannot thumbnail this content")
	ErrThumbnailSource = errors.New("media: content too large to thumbnail")
	ErrQuotaExceeded   = errors.New("media: the uploader's storage quota is exceeded")
)

// Config tunes the service.
type Config struct {
	MaxUploadSize int64
	// ReservationTTL is how long a POST /create media id waits for its
	// bytes; MaxReserved bounds a user's reservations at once.
	ReservationTTL time.Duration
	MaxReserved    int
	// UserQuota bounds the bytes a user's media hold (0: no bound).
	UserQuota int64
	// Retention deletes media older than this (0: kept forever).
	Retention time.Duration
	// QuotaInfoURI is where a user over quota learns more (info_uri).
	QuotaInfoURI string
}

// Service is the content repository.
type Service struct {
	cfg   Config
	store *store.Store
	blobs blob.Store
	av    *antivirus.Client // nil: scanning off
	log   *slog.Logger
	now   func() time.Time

	relay atomic.Pointer[notifier.Relay] // nil: one replica

	mu      sync.Mutex
	waiters map[string][]chan struct{} // media id → downloads waiting for a verdict
	wake    chan struct{}
	thumbs  chan struct{} // bounds concurrent decodes (memory)
}

// New returns the service; av nil turns scanning off.
func New(cfg Config, st *store.Store, blobs blob.Store, av *antivirus.Client, log *slog.Logger) *Service {
	if cfg.ReservationTTL <= 0 {
		cfg.ReservationTTL = 24 * time.Hour
	}
	if cfg.MaxReserved <= 0 {
		cfg.MaxReserved = 50
	}
	return &Service{cfg: cfg, store: st, blobs: blobs, av: av, log: log, now: time.Now,
		waiters: map[string][]chan struct{}{}, wake: make(chan struct{}, 1), thumbs: make(chan struct{}, 2)}
}

// MaxUploadSize is the configured limit (m.upload.size).
func (s *Service) MaxUploadSize() int64 { return s.cfg.MaxUploadSize }

// Blobs is the blob store holding the content.
func (s *Service) Blobs() blob.Store { return s.blobs }

// ValidID tells whether id can be a media id of this server: the spec's
// [A-Za-z0-9_-]+, bounded.
func ValidID(id string) bool {
	if id == "" || len(id) > 255 {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func newID() string {
	b := make([]byte, 24)
	rand.Read(b)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

// blobKey is unique per upload, so that two racing uploads to one
// reserved id never share bytes (the loser deletes its own).
func blobKey(id string) string { return "media/" + id[:2] + "/" + id + "-" + newID()[:8] }

// CleanContentType returns ct if it is a well-formed media type, else
// application/octet-stream: what is stored is what downloads will say.
func CleanContentType(ct string) string {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || len(ct) > 255 {
		return "application/octet-stream"
	}
	if out := mime.FormatMediaType(mt, params); out != "" && len(out) <= 255 {
		return out
	}
	return "application/octet-stream"
}

// CleanFilename keeps the last path element of name, without control
// characters, at most 255 bytes: it ends up in Content-Disposition.
func CleanFilename(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	for len(name) > 255 {
		_, n := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-n]
	}
	if name == "." || name == ".." {
		return ""
	}
	return name
}

// limitedReader fails with ErrTooLarge past max bytes and hashes what it
// reads.
type limitedReader struct {
	r        io.Reader
	n, max   int64
	h        interface{ Write([]byte) (int, error) }
	exceeded bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if rem := l.max + 1 - l.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		l.exceeded = true
		return 0, ErrTooLarge
	}
	l.h.Write(p[:n])
	return n, err
}

// Upload is the content of an upload request.
type Upload struct {
	Body        io.Reader
	Size        int64 // Content-Length, -1 if unknown
	ContentType string
	Filename    string
}

// store streams u into the blob store under id and returns the entry to
// record.
func (s *Service) put(ctx context.Context, id, uploader string, u Upload) (store.Media, error) {
	if u.Size > s.cfg.MaxUploadSize {
		return store.Media{}, ErrTooLarge
	}
	used, err := s.usage(ctx, uploader)
	if err != nil {
		return store.Media{}, err
	}
	if s.overQuota(used, max(u.Size, 0)) {
		return store.Media{}, ErrQuotaExceeded // before reading the body
	}
	h := sha256.New()
	lr := &limitedReader{r: u.Body, max: s.cfg.MaxUploadSize, h: h}
	ct := CleanContentType(u.ContentType)
	if u.ContentType == "" {
		ct = "application/octet-stream"
	}
	m := store.Media{MediaID: id, Uploader: uploader, ContentType: ct, Filename: CleanFilename(u.Filename), BlobKey: blobKey(id),
		State: store.MediaPending, CreatedTS: s.now().UnixMilli()}
	info, err := s.blobs.Put(ctx, m.BlobKey, lr, u.Size, ct)
	if lr.exceeded {
		_ = s.blobs.Delete(context.WithoutCancel(ctx), m.BlobKey)
		return m, ErrTooLarge
	}
	if err != nil {
		return m, fmt.Errorf("media: storing %s: %w", id, err)
	}
	if s.overQuota(used, info.Size) {
		// Without Content-Length the size is known only now.
		_ = s.blobs.Delete(context.WithoutCancel(ctx), m.BlobKey)
		return m, ErrQuotaExceeded
	}
	m.Size, m.SHA256 = info.Size, hex.EncodeToString(h.Sum(nil))
	if s.av == nil {
		m.State = store.MediaUnscanned
	}
	return m, nil
}

// Upload stores new content and returns its media id.
func (s *Service) Upload(ctx context.Context, uploader string, u Upload) (string, error) {
	id := newID()
	m, err := s.put(ctx, id, uploader, u)
	if err != nil {
		return "", err
	}
	if err := s.store.AddMedia(ctx, m); err != nil {
		_ = s.blobs.Delete(context.WithoutCancel(ctx), m.BlobKey)
		return "", err
	}
	s.Wake()
	return id, nil
}

// Create reserves a media id for a later UploadTo (asynchronous upload)
// and returns it with its expiry.
func (s *Service) Create(ctx context.Context, uploader string) (string, time.Time, error) {
	now := s.now()
	n, err := s.store.CountReservedMedia(ctx, uploader, now.UnixMilli())
	if err != nil {
		return "", time.Time{}, err
	}
	if n >= s.cfg.MaxReserved {
		return "", time.Time{}, ErrTooManyPending
	}
	id, exp := newID(), now.Add(s.cfg.ReservationTTL)
	err = s.store.AddMedia(ctx, store.Media{MediaID: id, Uploader: uploader, ContentType: "application/octet-stream",
		State: store.MediaReserved, CreatedTS: now.UnixMilli(), ExpiresTS: exp.UnixMilli()})
	return id, exp, err
}

// UploadTo fills a reserved media id.
func (s *Service) UploadTo(ctx context.Context, uploader, id string, u Upload) error {
	cur, err := s.store.Media(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	case err != nil:
		return err
	case cur.Uploader != uploader:
		return ErrForbidden
	case cur.State != store.MediaReserved:
		return ErrCannotOverwrite
	case cur.ExpiresTS < s.now().UnixMilli():
		return ErrNotFound
	}
	m, err := s.put(ctx, id, uploader, u)
	if err != nil {
		return err
	}
	ok, err := s.store.FillReservedMedia(ctx, m, s.now().UnixMilli())
	if err != nil {
		return err
	}
	if !ok {
		// A concurrent upload to the same id won.
		_ = s.blobs.Delete(context.WithoutCancel(ctx), m.BlobKey)
		return ErrCannotOverwrite
	}
	s.Wake()
	s.changed(ctx, id)
	return nil
}

// Ready returns an entry whose content may be served, waiting up to wait
// for its upload or its scan to finish.
func (s *Service) Ready(ctx context.Context, id string, wait time.Duration) (store.Media, error) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	// Verdicts of other replicas arrive through the relay; the slow
	// safety poll only covers a wake-up lost with the bus.
	poll := time.NewTicker(safetyPoll)
	defer poll.Stop()
	for {
		ch := s.waitFor(id)
		m, done, err := s.readyState(ctx, id)
		if done {
			s.stopWaiting(id, ch)
			return m, err
		}
		select {
		case <-ch:
		case <-poll.C:
			s.stopWaiting(id, ch)
		case <-deadline.C:
			s.stopWaiting(id, ch)
			return m, ErrNotYetUploaded
		case <-ctx.Done():
			s.stopWaiting(id, ch)
			return m, ctx.Err()
		}
	}
}

// readyState reads the entry once: done with the answer to return when
// waiting longer cannot change it.
func (s *Service) readyState(ctx context.Context, id string) (store.Media, bool, error) {
	m, err := s.store.Media(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return m, true, ErrNotFound
		}
		return m, true, err
	}
	switch m.State {
	case store.MediaClean, store.MediaUnscanned:
		return m, true, nil
	case store.MediaInfected:
		return m, true, ErrNotClean
	case store.MediaUnscannable:
		return m, true, ErrUnscannable
	case store.MediaDeleting:
		return m, true, ErrNotFound
	case store.MediaReserved:
		if m.ExpiresTS < s.now().UnixMilli() {
			return m, true, ErrNotFound
		}
	case store.MediaPending:
		if s.av == nil {
			// No antivirus here to pass it (see Reconcile).
			return m, true, ErrNotYetUploaded
		}
	}
	return m, false, nil
}

func (s *Service) waitFor(id string) chan struct{} {
	ch := make(chan struct{})
	s.mu.Lock()
	s.waiters[id] = append(s.waiters[id], ch)
	s.mu.Unlock()
	return ch
}

func (s *Service) stopWaiting(id string, ch chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.waiters[id]
	for i, c := range list {
		if c == ch {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(s.waiters, id)
	} else {
		s.waiters[id] = list
	}
}

// safetyPoll is how often a waiting download reads its entry again
// without a wake-up.
const safetyPoll = 10 * time.Second

// Relay shares the state changes of media with the other replicas: a
// download waiting on one replica wakes when another one's upload or
// scan completes. It runs until ctx ends.
func (s *Service) Relay(ctx context.Context, r *notifier.Relay) error {
	s.relay.Store(r)
	return r.Subscribe(ctx, notifier.MediaTopic, func(data json.RawMessage) {
		var id string
		if json.Unmarshal(data, &id) == nil {
			s.signal(id)
		}
	}, s.signalAll)
}

// changed wakes the downloads waiting for id, here and on the other
// replicas. The caller has committed the change.
func (s *Service) changed(ctx context.Context, id string) {
	s.signal(id)
	r := s.relay.Load()
	if r == nil {
		return
	}
	if err := r.Publish(context.WithoutCancel(ctx), notifier.MediaTopic, id); err != nil {
		// The other replicas' downloads read again at their safety poll.
		s.log.Warn("chat: media change not relayed to the other replicas", "media_id", id, "err", err)
	}
}

// Waiting is the number of downloads waiting for an upload or a scan
// (for tests and metrics).
func (s *Service) Waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, list := range s.waiters {
		n += len(list)
	}
	return n
}

// signalAll wakes every waiting download (they read their entry again).
func (s *Service) signalAll() {
	s.mu.Lock()
	all := s.waiters
	s.waiters = map[string][]chan struct{}{}
	s.mu.Unlock()
	for _, list := range all {
		for _, ch := range list {
			close(ch)
		}
	}
}

// signal wakes the downloads waiting for id.
func (s *Service) signal(id string) {
	s.mu.Lock()
	list := s.waiters[id]
	delete(s.waiters, id)
	s.mu.Unlock()
	for _, ch := range list {
		close(ch)
	}
}
