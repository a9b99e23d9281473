// Command bench-upstream is the stand-in service of the gateway benchmark
// (scripts/bench-gateway.sh): it answers every path with the same small
// JSON body (~200 bytes) over keep-alive connections, doing as little work
// as possible so that what the benchmark measures is the proxy in front.
//
// Two response headers let the benchmark check what reached it, without
// changing the body: X-Bench-Identity says whether a Bureau-Identity token
// arrived (the gateway signs one for a signed-in caller), X-Bench-Cookie
// whether the gateway's session cookie leaked through (it must not).
// GET /__bench/stats answers the running counts "requests identity cookie"
// (plain text, not counted), so the benchmark can check after a load run
// that every proxied request carried a token and none carried the cookie.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// body is ~200 bytes of JSON, the size of a small API answer (a file's
// metadata).
const body = `{"id":"0f9c2a4e-6b1d-4c7e-9a35-2d8e1f4b7c60","name":"note-de-service.odt","size":48213,` +
	`"mime":"application/vnd.oasis.opendocument.text","owner":"alice.martin","modified":"2026-01-15T09:30:00Z"}` + "\n"

func main() {
	listen := flag.String("listen", "127.0.0.1:8099", "address to listen on (host:port)")
	flag.Parse()
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench-upstream: -listen: %v\n", err)
		os.Exit(2)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		fmt.Fprintf(os.Stderr, "bench-upstream: -listen must be a loopback address, got %q\n", host)
		os.Exit(2)
	}

	b := []byte(body)
	length := []string{strconv.Itoa(len(b))}
	ctype := []string{"application/json"}
	present, absent := []string{"present"}, []string{"absent"}
	var requests, withIdentity, withCookie atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/__bench/stats" {
			fmt.Fprintf(w, "%d %d %d\n", requests.Load(), withIdentity.Load(), withCookie.Load())
			return
		}
		requests.Add(1)
		hd := w.Header()
		hd["Content-Type"] = ctype
		hd["Content-Length"] = length
		hd["X-Bench-Identity"] = absent
		if r.Header.Get("Bureau-Identity") != "" {
			hd["X-Bench-Identity"] = present
			withIdentity.Add(1)
		}
		hd["X-Bench-Cookie"] = absent
		for _, c := range r.Header["Cookie"] {
			if strings.Contains(c, "bureau_session=") {
				hd["X-Bench-Cookie"] = present
				withCookie.Add(1)
				break
			}
		}
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(b)
		}
	})
	srv := &http.Server{
		Addr:              *listen,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second, // keep-alive on, as a real service
	}
	log.Printf("bench-upstream: listening on %s (%d-byte body)", *listen, len(b))
	log.Fatal(srv.ListenAndServe())
}
