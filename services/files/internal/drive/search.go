package drive

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"bureau/services/files/internal/names"
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

// SearchPage is a page of hits; Next is the cursor of the following
// page ("" when there is none).
type SearchPage struct {
	Items []Hit  `json:"items"`
	Next  string `json:"next,omitempty"`
}

// Search finds, by a case-insensitive substring of their name, the files
// and folders u can see in all their spaces: nothing in the trash (nor
// below a trashed folder), no quarantined file. cursor ("" first) is the
// previous page's Next.
func (s *Service) Search(ctx context.Context, u identity.User, q, cursor string, limit int) (SearchPage, error) {
	q = strings.TrimSpace(q)
	if q == "" || len(q) > 255 || strings.ContainsFunc(q, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return SearchPage{}, fail(http.StatusBadRequest, "invalid_query", "Indiquez un texte à chercher (1 à 255 octets, sans caractère de contrôle).")
	}
	after, err := store.ParseCursor(cursor)
	if err != nil {
		return SearchPage{}, errBadCursor
	}
	if limit <= 0 || limit > MaxSearch {
		limit = 50
	}
	folders := map[string]store.Node{} // folder id → node, for the paths
	out := []Hit{}
	// Hits below a trashed folder are dropped: ask for more until one
	// beyond the page is found (then there is a next page) or the
	// candidates end.
	for len(out) <= limit {
		batch := 2 * limit
		hits, err := s.store.Search(ctx, u.ID, q, after, batch)
		if err != nil {
			return SearchPage{}, err
		}
		for _, h := range hits {
			path, ok, err := s.folderPath(ctx, h.SpaceID, h.ParentID, folders)
			if err != nil {
				return SearchPage{}, err
			}
			if ok && len(out) <= limit {
				out = append(out, Hit{Node: h.Node, SpaceName: h.SpaceName, Path: path})
			}
		}
		if len(hits) < batch {
			break
		}
		last := hits[len(hits)-1]
		after = store.Cursor{Key: names.Key(last.Name), ID: last.ID}
	}
	p := SearchPage{Items: out}
	if len(out) > limit {
		p.Items = out[:limit]
		last := out[limit-1]
		p.Next = store.EncodeCursor(store.Cursor{Key: names.Key(last.Name), ID: last.ID})
	}
	return p, nil
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
