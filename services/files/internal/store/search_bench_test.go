package store_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"bureau/services/files/internal/store"
)

// TestSearchTiming prints the time of a search over 100 000 names in 5
// spaces, on both engines. Figures only: BUREAU_BENCH=1 to run it.
func TestSearchTiming(t *testing.T) {
	if os.Getenv("BUREAU_BENCH") == "" {
		t.Skip("BUREAU_BENCH=1 to run")
	}
	bothEngines(t, func(t *testing.T, ctx context.Context, st *store.Store) {
		for sp := 0; sp < 5; sp++ {
			id := fmt.Sprintf("s%d", sp)
			must(t, st.CreateSpace(ctx, store.Space{ID: id, Kind: store.SpaceTeam, Name: id, CreatedBy: "a", CreatedAt: t0}))
			var items []store.CopyItem
			for i := 0; i < 20000; i++ {
				items = append(items, store.CopyItem{Node: store.Node{ID: fmt.Sprintf("%s-n%d", id, i), SpaceID: id, Kind: store.KindFolder,
					Name: fmt.Sprintf("Dossier %d rapport-%x", i, i*7919), CreatedBy: "a", CreatedAt: t0, ModifiedAt: t0}})
			}
			must(t, st.InsertCopies(ctx, items))
		}
		for _, q := range []string{"rapport-1a2", "dossier 1999", "zz", "rapport"} {
			start := time.Now()
			n := 0
			for i := 0; i < 20; i++ {
				hits, err := st.Search(ctx, "a", q, store.Cursor{}, 50)
				must(t, err)
				n = len(hits)
			}
			t.Logf("q=%q: %d hits, %v per query over 100 000 names", q, n, time.Since(start)/20)
		}
	})
}
