package drive

import (
	"context"
	"sync"
	"time"

	"bureau/services/files/internal/store"
	"bureau/services/platform/identity"
	"bureau/services/platform/notify"
)

// Live notification types, published on notify.Topic; their Data is a
// notify.Notification. The web Fichiers view refreshes on any "files.*".
const (
	EventAdded    = "files.added"     // to the other members: a file or folder appeared
	EventShared   = "files.shared"    // to a new member: added to a space
	EventLinkUsed = "files.link_used" // to a link's creator: download or deposit
	// EventInvitationExpired: to an agent arriving with an expired invitation.
	EventInvitationExpired = "files.invitation_expired"
)

// publishTimeout bounds the publications made on behalf of a request,
// which run after its transaction, detached from its cancellation.
const publishTimeout = 5 * time.Second

// linkUsedEvery throttles files.link_used: one per link per period.
const linkUsedEvery = 10 * time.Minute

// publish sends one event; a failure is logged, never returned: the
// action it reports is done.
func (s *Service) publish(ctx context.Context, user, typ string, n notify.Notification) {
	if s.cfg.Bus == nil || user == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	err := n.Validate()
	if err == nil {
		var ev notify.Event
		if ev, err = notify.NewEvent(user, typ, n); err == nil {
			_, err = notify.Publish(ctx, s.cfg.Bus, ev)
		}
	}
	if err != nil {
		s.log.Warn("files notification lost", "type", typ, "user", user, "err", err)
	}
}

func folderLink(space, folder string) string {
	if folder == "" {
		return "/fichiers/" + space
	}
	return "/fichiers/" + space + "/" + folder
}

func displayName(u identity.User) string {
	if n := u.DisplayName(); n != "" {
		return n
	}
	return u.ID
}

// notifyAdded tells every member of space but the actor that the file
// (or folder) name appeared in folder. by is who added it, as shown.
func (s *Service) notifyAdded(ctx context.Context, actor, space, folder, name, by string, isFolder bool) {
	if s.cfg.Bus == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	members, err := s.store.Members(ctx, space)
	if err != nil || len(members) == 0 {
		if err != nil {
			s.log.Warn("files notification lost", "type", EventAdded, "space", space, "err", err)
		}
		return
	}
	spaceName := s.spaceName(ctx, space, members[0].UserID)
	title, verb := "Nouveau fichier dans « ", " — déposé par "
	if isFolder {
		title, verb = "Nouveau dossier dans « ", " — créé par "
	}
	n := notify.Notification{
		Title: title + spaceName + " »",
		Body:  name + verb + by,
		Link:  folderLink(space, folder),
	}
	for _, m := range members {
		if m.UserID != actor {
			s.publish(ctx, m.UserID, EventAdded, n)
		}
	}
}

// spaceName is the name of space, as seen by member (a fallback when the
// lookup fails).
func (s *Service) spaceName(ctx context.Context, space, member string) string {
	sp, err := s.store.SpaceFor(ctx, space, member)
	if err != nil {
		s.log.Warn("space name for a notification", "space", space, "err", err)
		return "espace partagé"
	}
	return sp.Name
}

// notifyLinkUsed tells the creator of l that it was used, at most once
// per link per linkUsedEvery.
func (s *Service) notifyLinkUsed(ctx context.Context, l store.Link, what string) {
	if s.cfg.Bus == nil || !s.linkUsed.allow(l.ID, s.now()) {
		return
	}
	ctx = context.WithoutCancel(ctx)
	n := notify.Notification{
		Title: "Lien de partage utilisé",
		Body:  what + " — espace « " + s.spaceName(ctx, l.SpaceID, l.CreatedBy) + " »",
		Link:  folderLink(l.SpaceID, ""),
	}
	s.publish(ctx, l.CreatedBy, EventLinkUsed, n)
}

// throttle lets one event per key through per linkUsedEvery, in memory
// (per replica).
type throttle struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (t *throttle) allow(key string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last == nil {
		t.last = map[string]time.Time{}
	}
	if last, ok := t.last[key]; ok && now.Sub(last) < linkUsedEvery {
		return false
	}
	if len(t.last) > 10000 { // forget expired entries now and then
		for k, v := range t.last {
			if now.Sub(v) >= linkUsedEvery {
				delete(t.last, k)
			}
		}
	}
	t.last[key] = now
	return true
}
