package drive

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"bureau/services/files/internal/store"
	"bureau/services/platform/identity"
)

// PersonalSpaceName is the name of every personal space.
const PersonalSpaceName = "Mon espace"

// Spaces lists u's spaces, personal first, creating the personal space on
// the first call. Externals get none: they are only invited.
func (s *Service) Spaces(ctx context.Context, u identity.User) ([]store.Space, error) {
	if !u.External {
		if _, err := s.store.PersonalSpace(ctx, u.ID); errors.Is(err, store.ErrNotFound) {
			err = s.store.CreateSpace(ctx, store.Space{ID: newID(), Kind: store.SpacePersonal, Name: PersonalSpaceName,
				OwnerID: u.ID, CreatedBy: u.ID, CreatedAt: s.now()})
			// A concurrent first call created it: fine.
			if err != nil && !errors.Is(err, store.ErrConflict) {
				return nil, err
			}
		} else if err != nil {
			return nil, err
		}
	}
	spaces, err := s.store.SpacesOf(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	for i := range spaces {
		if err := s.fillUsage(ctx, &spaces[i]); err != nil {
			return nil, err
		}
	}
	return spaces, nil
}

// fillUsage sets a space's quota and usage.
func (s *Service) fillUsage(ctx context.Context, sp *store.Space) error {
	q, err := s.quota(ctx, sp.ID)
	if err != nil {
		return err
	}
	used, _, err := s.store.Usage(ctx, sp.ID, "")
	sp.Quota, sp.Used = q, used
	return err
}

func (s *Service) quota(ctx context.Context, space string) (int64, error) {
	q, err := s.store.Quota(ctx, space)
	if err != nil {
		return 0, err
	}
	if q == 0 {
		q = s.cfg.Quota
	}
	return q, nil
}

// checkQuota refuses size more bytes from agent user ("" for a share
// link) in space if they would exceed the space's quota or the agent's,
// counting the uploads in progress (but except, when given).
func (s *Service) checkQuota(ctx context.Context, space, user string, size int64, except ...string) error {
	q, err := s.quota(ctx, space)
	if err != nil {
		return err
	}
	ex := strings.Join(except, "")
	if q > 0 {
		stored, reserved, err := s.store.Usage(ctx, space, ex)
		if err != nil {
			return err
		}
		if stored+reserved+max(size, 0) > q {
			return fail(http.StatusInsufficientStorage, "quota_exceeded",
				fmt.Sprintf("L'espace est plein : %s utilisés sur %s.", humanSize(stored+reserved), humanSize(q)))
		}
	}
	aq := s.agentQuota(user)
	if aq == 0 || user == "" || strings.HasPrefix(user, "link:") {
		return nil
	}
	stored, reserved, err := s.store.AgentUsage(ctx, user, ex)
	if err != nil {
		return err
	}
	if stored+reserved+max(size, 0) > aq {
		return fail(http.StatusInsufficientStorage, "agent_quota_exceeded",
			fmt.Sprintf("Votre quota personnel est atteint : %s utilisés sur %s.", humanSize(stored+reserved), humanSize(aq)))
	}
	return nil
}

// agentQuota is user's own quota: their override in the configuration
// (by agent id, or by the email they were seen with), else agent_quota.
func (s *Service) agentQuota(user string) int64 {
	if q, ok := s.cfg.AgentQuotas[user]; ok {
		return q
	}
	if email, ok := s.seen.Load(user); ok {
		if q, ok := s.cfg.AgentQuotas[strings.ToLower(email.(string))]; ok {
			return q
		}
	}
	return s.cfg.AgentQuota
}

// SetSpaceQuota sets a team space's own quota (owner only): bytes up to
// the ceiling the configuration allows owners (max_space_quota, else
// default_quota, else none), or 0 to go back to the default.
func (s *Service) SetSpaceQuota(ctx context.Context, u identity.User, space string, quota int64) (store.Space, error) {
	sp, err := s.access(ctx, u, space, store.RoleOwner)
	if errors.Is(err, errReadOnly) {
		return sp, fail(http.StatusForbidden, "owner_only", "Seul un propriétaire de l'espace peut changer son quota.")
	} else if err != nil {
		return sp, err
	}
	if sp.Kind == store.SpacePersonal {
		return sp, fail(http.StatusBadRequest, "personal_space", "Le quota d'un espace personnel se règle dans la configuration.")
	}
	ceiling := s.cfg.MaxSpaceQuota
	if ceiling == 0 {
		ceiling = s.cfg.Quota
	}
	switch {
	case quota < 0:
		return sp, fail(http.StatusBadRequest, "invalid_quota", "Le quota est un nombre d'octets positif (0 : quota par défaut).")
	case ceiling > 0 && quota > ceiling:
		return sp, fail(http.StatusBadRequest, "quota_too_high", "Le quota d'un espace ne peut pas dépasser "+humanSize(ceiling)+".")
	}
	if err := s.store.SetQuota(ctx, space, quota); err != nil {
		return sp, err
	}
	s.audit(ctx, space, u.ID, "quota_set", "", humanSize(quota))
	return sp, s.fillUsage(ctx, &sp)
}

// AgentQuota is an agent's quota and usage, for the quota bar.
type AgentQuota struct {
	Quota    int64 `json:"quota"`    // bytes, 0: unlimited
	Used     int64 `json:"used"`     // bytes of the versions they uploaded
	Reserved int64 `json:"reserved"` // bytes announced by their uploads in progress
}

// MyQuota returns u's own quota and usage.
func (s *Service) MyQuota(ctx context.Context, u identity.User) (AgentQuota, error) {
	stored, reserved, err := s.store.AgentUsage(ctx, u.ID, "")
	return AgentQuota{Quota: s.agentQuota(u.ID), Used: stored, Reserved: reserved}, err
}

// CreateSpace creates a team space owned by u.
func (s *Service) CreateSpace(ctx context.Context, u identity.User, name string) (store.Space, error) {
	if u.External {
		return store.Space{}, fail(http.StatusForbidden, "externals_cannot_create_spaces",
			"Les personnes extérieures à l'administration peuvent être invitées dans un espace mais ne peuvent pas en créer.")
	}
	name = strings.TrimSpace(name)
	if err := checkName(name); err != nil {
		return store.Space{}, err
	}
	sp := store.Space{ID: newID(), Kind: store.SpaceTeam, Name: name, CreatedBy: u.ID, CreatedAt: s.now(), Role: store.RoleOwner}
	return sp, s.store.CreateSpace(ctx, sp)
}

// Space returns one of u's spaces.
func (s *Service) Space(ctx context.Context, u identity.User, space string) (store.Space, error) {
	sp, err := s.access(ctx, u, space, store.RoleReader)
	if err != nil {
		return sp, err
	}
	return sp, s.fillUsage(ctx, &sp)
}

func roleLabel(role string) string {
	switch role {
	case store.RoleOwner:
		return "propriétaire"
	case store.RoleManager:
		return "gestionnaire"
	case store.RoleEditor:
		return "éditeur"
	}
	return "lecteur"
}
