package antivirus_test

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"bureau/services/platform/antivirus"
	"bureau/services/platform/testenv"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// zeros is an endless (or n-byte) clean stream that costs no memory.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n == 0 {
		return 0, io.EOF
	}
	if z.n > 0 {
		p = p[:min(int64(len(p)), z.n)]
		z.n -= int64(len(p))
	}
	clear(p)
	return len(p), nil
}

func TestScan(t *testing.T) {
	t.Parallel()
	av := antivirus.New(testenv.StartClamAV(t).Addr, 10*time.Second)
	ctx := testCtx(t)
	if err := av.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	res, err := av.Scan(ctx, strings.NewReader(testenv.EICAR))
	if err != nil || !res.Infected || !strings.HasPrefix(res.Signature, "Eicar-Test-Signature") {
		t.Fatalf("EICAR: %+v, %v", res, err)
	}
	res, err = av.Scan(ctx, strings.NewReader("Bonjour, ceci est un document administratif."))
	if err != nil || res.Infected || res.Signature != "" {
		t.Fatalf("clean text: %+v, %v", res, err)
	}
	res, err = av.Scan(ctx, strings.NewReader(""))
	if err != nil || res.Infected {
		t.Fatalf("empty: %+v, %v", res, err)
	}
	// 30 MB, over clamd's default 25 MB limit (StartClamAV raises it).
	res, err = av.Scan(ctx, &zeros{n: 30 << 20})
	if err != nil || res.Infected {
		t.Fatalf("30 MB clean stream: %+v, %v", res, err)
	}

	// Concurrent scans each have their own connection.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			data := "clean"
			if i%2 == 0 {
				data = testenv.EICAR
			}
			res, err := av.Scan(ctx, strings.NewReader(data))
			if err != nil || res.Infected != (i%2 == 0) {
				t.Errorf("concurrent scan %d: %+v, %v", i, res, err)
			}
		})
	}
	wg.Wait()
}

func TestScanTooLarge(t *testing.T) {
	t.Parallel()
	av := antivirus.New(testenv.StartClamAVWith(t, testenv.ClamAVConfig{StreamMaxLength: 1 << 20}).Addr, 10*time.Second)
	for _, n := range []int64{1<<20 + 1, 3 << 20, 64 << 20} {
		_, err := av.Scan(testCtx(t), &zeros{n: n})
		if !errors.Is(err, antivirus.ErrTooLarge) {
			t.Errorf("%d bytes over a 1 MiB limit: want ErrTooLarge, got %v", n, err)
		}
	}
	// The connection refused, the next scan works.
	if res, err := av.Scan(testCtx(t), strings.NewReader(testenv.EICAR)); err != nil || !res.Infected {
		t.Fatalf("after a refused stream: %+v, %v", res, err)
	}
}

func TestScanCancelled(t *testing.T) {
	t.Parallel()
	av := antivirus.New(testenv.StartClamAV(t).Addr, 10*time.Second)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	// An endless source that cancels the scan once it is under way.
	_, err := av.Scan(ctx, &cancelling{cancel: cancel, after: 10})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want the context's error, got %v", err)
	}
}

type cancelling struct {
	cancel func()
	after  int
}

func (c *cancelling) Read(p []byte) (int, error) {
	if c.after--; c.after == 0 {
		c.cancel()
	}
	clear(p)
	return len(p), nil
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	av := antivirus.New(addr, time.Second)
	err := av.Ping(testCtx(t))
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("want an error naming %s, got %v", addr, err)
	}
}
