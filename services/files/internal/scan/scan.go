// Package scan runs the antivirus over new file versions, in the
// background: versions are recorded "pending", a worker streams each from
// the blob store to clamd, records clean or infected and tells the
// uploader. Pending rows are the queue, so scans interrupted by a restart
// resume when the next worker starts.
package scan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"bureau/services/files/internal/store"
	"bureau/services/platform/antivirus"
	"bureau/services/platform/blob"
	"bureau/services/platform/bus"
	"bureau/services/platform/notify"
)

// Worker scans pending versions.
type Worker struct {
	Store *store.Store
	Blobs blob.Store
	AV    *antivirus.Client
	Bus   bus.Bus
	Log   *slog.Logger
	// Retry is the wait after a failure (clamd or storage unreachable);
	// Poll the wait between sweeps when nothing wakes the worker (another
	// replica may have left pending rows).
	Retry, Poll time.Duration

	wake chan struct{}
}

// NewWorker returns a worker; call Run.
func NewWorker(st *store.Store, blobs blob.Store, av *antivirus.Client, b bus.Bus, log *slog.Logger) *Worker {
	return &Worker{Store: st, Blobs: blobs, AV: av, Bus: b, Log: log, Retry: 5 * time.Second, Poll: time.Minute, wake: make(chan struct{}, 1)}
}

// Wake asks the worker to look for pending versions now.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run scans until ctx ends, starting with what a previous run left.
func (w *Worker) Run(ctx context.Context) {
	for ctx.Err() == nil {
		n, err := w.sweep(ctx)
		wait := w.Poll
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			w.Log.Warn("antivirus scan failed, will retry", "err", err, "in", w.Retry)
			wait = w.Retry
		case n > 0:
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-w.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// sweep scans one batch of pending versions and returns how many.
func (w *Worker) sweep(ctx context.Context) (int, error) {
	batch, err := w.Store.PendingScans(ctx, 16)
	if err != nil {
		return 0, err
	}
	for i, p := range batch {
		if err := w.scan(ctx, p); err != nil {
			return i, err
		}
	}
	return len(batch), nil
}

func (w *Worker) scan(ctx context.Context, p store.Pending) error {
	rc, _, err := w.Blobs.Get(ctx, p.BlobKey, 0, -1)
	if err != nil {
		return fmt.Errorf("scan %s: %w", p.ID, err)
	}
	res, err := w.AV.Scan(ctx, rc)
	rc.Close()
	state, sig := store.ScanClean, ""
	switch {
	case errors.Is(err, antivirus.ErrTooLarge):
		state = store.ScanUnscannable
	case err != nil:
		return fmt.Errorf("scan %s: %w", p.ID, err)
	case res.Infected:
		state, sig = store.ScanInfected, res.Signature
	}
	changed, err := w.Store.SetScan(ctx, p.ID, state, sig, time.Now())
	if err != nil || !changed {
		return err
	}
	w.Log.Info("scanned", "version", p.ID, "node", p.NodeID, "state", state, "signature", sig)
	w.notify(ctx, p, state, sig)
	return nil
}

// notify tells the uploader; a lost notification is logged, not retried:
// the state is in the listing anyway.
func (w *Worker) notify(ctx context.Context, p store.Pending, state, sig string) {
	n := notify.Notification{Link: "/fichiers/" + p.SpaceID}
	switch state {
	case store.ScanClean:
		n.Title = "Fichier disponible"
		n.Body = "« " + p.Name + " » a été analysé par l'antivirus : aucune menace détectée."
	case store.ScanInfected:
		n.Title = "Fichier infecté mis en quarantaine"
		n.Body = "« " + p.Name + " » contient une menace (" + sig + ") : il ne peut pas être téléchargé."
	default:
		n.Title = "Fichier non analysable"
		n.Body = "« " + p.Name + " » est trop volumineux pour l'antivirus : il ne peut pas être téléchargé."
	}
	if _, err := notify.Notify(ctx, w.Bus, p.UploadedBy, n); err != nil {
		w.Log.Warn("scan notification lost", "version", p.ID, "err", err)
	}
}
