package drive

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"bureau/services/files/internal/store"
	"bureau/services/platform/identity"
)

// Hit is a search result: the node, its space's name and the path of
// its folder from the root of the space ("/" for the root,
// "/Dossier/Sous-dossier" below).
type Hit struct {
	store.Node
	SpaceName string `json:"space_name"`
	Path      string `json:"path"`
}

// MaxSearch bounds the results of a search.
const MaxSearch = 200

// Search finds, by a case-insensitive substring of their name, the files
// and folders u can see in all their spaces: nothing in the trash (nor
// below a trashed folder), no quarantined file.
func (s *Service) Search(ctx context.Context, u identity.User, q string, limit int) ([]Hit, error) {
	q = strings.TrimSpace(q)
	if q == "" || len(q) > 255 || strings.ContainsFunc(q, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, fail(http.StatusBadRequest, "invalid_query", "Indiquez un texte à chercher (1 à 255 octets, sans caractère de contrôle).")
	}
	if limit <= 0 || limit > MaxSearch {
		limit = 50
	}
	folders := map[string]store.Node{} // folder id → node, for the paths
	out := []Hit{}
	// Hits below a trashed folder are dropped: ask for more until the
	// page is full or the candidates end.
	for offset := 0; len(out) < limit; {
		batch := 2 * limit
		hits, err := s.store.Search(ctx, u.ID, q, batch, offset)
		if err != nil {
			return nil, err
		}
		for _, h := range hits {
			path, ok, err := s.folderPath(ctx, h.SpaceID, h.ParentID, folders)
			if err != nil {
				return nil, err
			}
			if ok && len(out) < limit {
				out = append(out, Hit{Node: h.Node, SpaceName: h.SpaceName, Path: path})
			}
		}
		if len(hits) < batch {
			break
		}
		offset += batch
	}
	return out, nil
}

// folderPath returns the path of folder in space, false if it or an
// ancestor is in the trash.
func (s *Service) folderPath(ctx context.Context, space, folder string, cache map[string]store.Node) (string, bool, error) {
	var names []string
	for id := folder; id != ""; {
		if len(names) == maxDepth {
			return "", false, nil
		}
		n, ok := cache[id]
		if !ok {
			var err error
			n, err = s.store.Node(ctx, space, id)
			if errors.Is(err, store.ErrNotFound) {
				return "", false, nil
			} else if err != nil {
				return "", false, err
			}
			cache[id] = n
		}
		if n.TrashedAt != nil {
			return "", false, nil
		}
		names = append(names, n.Name)
		id = n.ParentID
	}
	slices.Reverse(names)
	return "/" + strings.Join(names, "/"), true, nil
}
