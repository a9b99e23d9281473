package drive

import (
	"context"
	"errors"
	"net/http"
	"net/mail"
	"regexp"
	"strings"

	"bureau/services/files/internal/store"
	"bureau/services/platform/identity"
	"bureau/services/platform/notify"
)

var (
	errPersonal     = fail(http.StatusBadRequest, "personal_space", "Un espace personnel ne se partage pas : créez un espace d'équipe.")
	errInvalidRole  = fail(http.StatusBadRequest, "invalid_role", "Rôle inconnu : owner, manager, editor ou reader.")
	errRoleTooHigh  = fail(http.StatusForbidden, "role_too_high", "Vous ne pouvez pas donner un rôle supérieur au vôtre.")
	errOwnerOnly    = fail(http.StatusForbidden, "owner_only", "Seul un propriétaire peut modifier ou retirer un propriétaire.")
	errLastOwner    = fail(http.StatusConflict, "last_owner", "L'espace doit garder au moins un propriétaire : nommez-en un autre d'abord.")
	errNoMember     = fail(http.StatusNotFound, "member_not_found", "Cette personne n'est pas membre de l'espace.")
	errNoInvitation = fail(http.StatusNotFound, "invitation_not_found", "Aucune invitation en attente pour cette adresse.")
)

var userIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// NormalizeEmail returns the lower-cased address of a plain email
// ("a@b.fr", no display name), or "" when it is not one.
func NormalizeEmail(s string) string {
	if len(s) > 254 || strings.ContainsAny(s, " <>\"\r\n\t") {
		return ""
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return ""
	}
	local, domain, ok := strings.Cut(a.Address, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return ""
	}
	return strings.ToLower(a.Address)
}

// Members lists the members of a space u belongs to, then its pending
// invitations.
func (s *Service) Members(ctx context.Context, u identity.User, space string) ([]store.Member, error) {
	if _, err := s.access(ctx, u, space, store.RoleReader); err != nil {
		return nil, err
	}
	ms, err := s.store.Members(ctx, space)
	now := s.now()
	for i, m := range ms {
		if m.Status == store.StatusPending && m.ExpiresAt != nil && !now.Before(*m.ExpiresAt) {
			ms[i].Status = store.StatusExpired
		}
	}
	return ms, err
}

// manageable returns the team space u manages, checking that role may be
// given by u.
func (s *Service) manageable(ctx context.Context, u identity.User, space, role string) (store.Space, error) {
	sp, err := s.access(ctx, u, space, store.RoleManager)
	if err != nil {
		return sp, err
	}
	switch {
	case sp.Kind == store.SpacePersonal:
		return sp, errPersonal
	case role == "":
		return sp, nil
	case store.RoleRank(role) == 0:
		return sp, errInvalidRole
	case store.RoleRank(role) > store.RoleRank(sp.Role):
		return sp, errRoleTooHigh
	}
	return sp, nil
}

// AddMember gives an agent a role in a team space, by id (user) or by
// email: an email nobody has signed in with yet becomes a pending
// invitation, turned into a membership at that agent's first request.
// Managers add managers, editors and readers; only owners add owners.
func (s *Service) AddMember(ctx context.Context, u identity.User, space, user, email, role string) (store.Member, error) {
	sp, err := s.manageable(ctx, u, space, role)
	if err != nil {
		return store.Member{}, err
	}
	if role == "" {
		return store.Member{}, errInvalidRole
	}
	if (user == "") == (email == "") {
		return store.Member{}, fail(http.StatusBadRequest, "invalid_user", "Indiquez soit l'identifiant d'un agent (user_id), soit une adresse (email).")
	}
	if email != "" {
		if email = NormalizeEmail(email); email == "" {
			return store.Member{}, fail(http.StatusBadRequest, "invalid_email", "Adresse électronique invalide.")
		}
		id, err := s.store.AgentByEmail(ctx, email)
		if errors.Is(err, store.ErrNotFound) {
			return s.invite(ctx, u, sp, email, role)
		} else if err != nil {
			return store.Member{}, err
		}
		// An agent known since with an (expired) invitation: send it again,
		// which makes them a member at once and leaves no stale invitation.
		if invited, err := s.store.Invited(ctx, space, email); err != nil {
			return store.Member{}, err
		} else if invited {
			return s.invite(ctx, u, sp, email, role)
		}
		user = id
	}
	if !userIDPattern.MatchString(user) {
		return store.Member{}, fail(http.StatusBadRequest, "invalid_user", "Identifiant d'agent invalide.")
	}
	m := store.Member{SpaceID: space, UserID: user, Email: email, Role: role, Status: store.StatusMember, AddedBy: u.ID, AddedAt: s.now()}
	if err := s.store.AddMember(ctx, m); errors.Is(err, store.ErrConflict) {
		return m, fail(http.StatusConflict, "already_member", "Cet agent est déjà membre de l'espace.")
	} else if err != nil {
		return m, err
	}
	s.audit(ctx, space, u.ID, "member_added", "", s.agentLabel(ctx, user)+" ("+roleLabel(role)+")")
	s.notifyShared(ctx, user, sp.Name, space, displayName(u)+" vous a ajouté", role)
	return m, nil
}

// invite records an invitation by email valid for invitation_ttl; an
// address already invited (pending or expired) gets its invitation sent
// again: the new role, and a new expiry.
func (s *Service) invite(ctx context.Context, u identity.User, sp store.Space, email, role string) (store.Member, error) {
	now := s.now()
	exp := now.Add(s.cfg.InvitationTTL)
	m := store.Member{SpaceID: sp.ID, Email: email, Role: role, Status: store.StatusPending, AddedBy: u.ID, AddedAt: now, ExpiresAt: &exp}
	action := "member_invited"
	err := s.store.Invite(ctx, m)
	if errors.Is(err, store.ErrConflict) {
		action, err = "invitation_renewed", s.store.RenewInvitation(ctx, m)
	}
	if err != nil {
		return m, err
	}
	s.audit(ctx, sp.ID, u.ID, action, "", email+" ("+roleLabel(role)+")")
	// The agent may have made a first request since the lookup: claim
	// the invitation for them now rather than leave it pending.
	if id, err := s.store.AgentByEmail(ctx, email); err == nil {
		s.claim(ctx, id, email)
		m.UserID, m.Status = id, store.StatusMember
	}
	return m, nil
}

func (s *Service) notifyShared(ctx context.Context, user, spaceName, space, who, role string) {
	s.publish(ctx, user, EventShared, notify.Notification{
		Title: who + " à l'espace « " + spaceName + " »",
		Body:  "Rôle : " + roleLabel(role),
		Link:  folderLink(space, ""),
	})
}

// Arrive records u's request: at an agent's first request to this
// process, the invitations to their email become memberships (with a
// files.shared notification each). Later requests cost a map lookup.
func (s *Service) Arrive(ctx context.Context, u identity.User) error {
	if email, ok := s.seen.Load(u.ID); ok && email == u.Email {
		return nil
	}
	claimed, expired, err := s.store.SeeAgent(ctx, u.ID, u.Email, s.now())
	if err != nil {
		return err
	}
	s.seen.Store(u.ID, u.Email)
	s.notifyClaimed(ctx, u.ID, claimed, expired)
	return nil
}

func (s *Service) claim(ctx context.Context, user, email string) {
	claimed, expired, err := s.store.ClaimInvitations(ctx, user, email, s.now())
	if err != nil {
		s.log.Error("claim invitations", "user", user, "err", err)
	}
	s.notifyClaimed(ctx, user, claimed, expired)
}

// notifyClaimed tells user of the spaces their invitations gave them, and
// of the invitations that had expired (refused: they must be invited
// again).
func (s *Service) notifyClaimed(ctx context.Context, user string, claimed, expired []store.Member) {
	for _, m := range claimed {
		s.audit(ctx, m.SpaceID, user, "invitation_accepted", "", m.Email+" ("+roleLabel(m.Role)+")")
		s.notifyShared(ctx, user, s.spaceName(ctx, m.SpaceID, user), m.SpaceID, "Vous avez été ajouté", m.Role)
	}
	for _, m := range expired {
		s.publish(ctx, user, EventInvitationExpired, notify.Notification{
			Title: "Invitation expirée",
			Body:  "Une invitation à un espace de fichiers a expiré le " + m.ExpiresAt.Format("02/01/2006") + " : demandez à la personne qui vous a invité de vous inviter à nouveau.",
			Link:  "/fichiers",
		})
	}
}

// SetRole changes a member's role. Managers change managers, editors and
// readers up to manager; only owners touch owners; the last owner stays.
func (s *Service) SetRole(ctx context.Context, u identity.User, space, user, role string) (store.Member, error) {
	sp, err := s.manageable(ctx, u, space, role)
	if err != nil {
		return store.Member{}, err
	}
	if role == "" {
		return store.Member{}, errInvalidRole
	}
	m, err := s.target(ctx, sp, user)
	if err != nil {
		return m, err
	}
	if err := s.store.SetRole(ctx, space, user, role); err != nil {
		return m, memberErr(err)
	}
	s.audit(ctx, space, u.ID, "member_role", "", s.agentLabel(ctx, user)+" : "+roleLabel(m.Role)+" → "+roleLabel(role))
	m.Role = role
	return m, nil
}

// RemoveMember removes a member (anyone may leave; managers remove
// non-owners, owners anyone), never the last owner.
func (s *Service) RemoveMember(ctx context.Context, u identity.User, space, user string) error {
	var sp store.Space
	var err error
	if user == u.ID {
		sp, err = s.access(ctx, u, space, store.RoleReader)
		if err == nil && sp.Kind == store.SpacePersonal {
			err = errPersonal
		}
	} else {
		sp, err = s.manageable(ctx, u, space, "")
	}
	if err != nil {
		return err
	}
	if _, err := s.target(ctx, sp, user); err != nil {
		return err
	}
	if err := s.store.RemoveMember(ctx, space, user); err != nil {
		return memberErr(err)
	}
	s.audit(ctx, space, u.ID, "member_removed", "", s.agentLabel(ctx, user))
	return nil
}

// target returns user's membership, which sp's caller may change.
func (s *Service) target(ctx context.Context, sp store.Space, user string) (store.Member, error) {
	if !userIDPattern.MatchString(user) {
		return store.Member{}, errNoMember
	}
	m, err := s.store.Member(ctx, sp.ID, user)
	if errors.Is(err, store.ErrNotFound) {
		return m, errNoMember
	} else if err != nil {
		return m, err
	}
	if m.Role == store.RoleOwner && sp.Role != store.RoleOwner {
		return m, errOwnerOnly
	}
	return m, nil
}

func memberErr(err error) error {
	switch {
	case errors.Is(err, store.ErrLastOwner):
		return errLastOwner
	case errors.Is(err, store.ErrNotFound):
		return errNoMember
	}
	return err
}

// CancelInvitation withdraws a pending invitation (manager+).
func (s *Service) CancelInvitation(ctx context.Context, u identity.User, space, email string) error {
	if _, err := s.manageable(ctx, u, space, ""); err != nil {
		return err
	}
	if email = NormalizeEmail(email); email == "" {
		return errNoInvitation
	}
	if err := s.store.DeleteInvitation(ctx, space, email); errors.Is(err, store.ErrNotFound) {
		return errNoInvitation
	} else if err != nil {
		return err
	}
	s.audit(ctx, space, u.ID, "invitation_cancelled", "", email)
	return nil
}

// agentLabel names an agent in the audit log: their email when the
// service has seen them, else their id.
func (s *Service) agentLabel(ctx context.Context, user string) string {
	if email, err := s.store.AgentEmail(ctx, user); err == nil && email != "" {
		return email
	}
	return user
}
