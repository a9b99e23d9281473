// Command chat-bench measures the chat service as the benchmark
// asks: agents in rooms each send messages (bounded concurrency) while an
// observer long-polls /sync; it prints throughput, send latency,
// send→observer delivery latency, lost messages, the server's CPU seconds
// and RSS (from /proc/<pid>), and the time of a full initial sync.
//
// Agents sign in through the SSO token flow, with Bureau-Identity tokens
// signed by the gateway key given (-identity-key, base64 seed), as the
// gateway does.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"bureau/services/platform/identity"
)

var client = &http.Client{
	Transport:     &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       2 * time.Minute,
}

type agent struct {
	userID, token string
}

func main() {
	base := flag.String("url", "http://127.0.0.1:8081", "chat service URL")
	keyB64 := flag.String("identity-key", os.Getenv("BENCH_IDENTITY_KEY"), "gateway identity private key (base64 seed)")
	nAgents := flag.Int("agents", 20, "sending agents")
	nRooms := flag.Int("rooms", 5, "rooms (agents are spread over them)")
	nMsgs := flag.Int("messages", 50, "messages per agent")
	conc := flag.Int("concurrency", 10, "concurrent senders")
	pid := flag.Int("pid", 0, "server pid, for CPU and RSS (0: not measured)")
	label := flag.String("label", "", "label printed with the figures")
	flag.Parse()
	key, err := identity.DecodePrivateKey(*keyB64)
	if err != nil {
		fail("identity key: %v", err)
	}
	signer := identity.NewSigner(key, time.Minute)
	run := fmt.Sprintf("%d", time.Now().UnixNano())

	login := func(name string) agent {
		u := identity.User{ID: "bench-" + run + "-" + name, Email: name + "-" + run + "@bench.gouv.fr", GivenName: name, Ministry: "bench"}
		tok, _, err := signer.Sign(u, "chat")
		if err != nil {
			fail("sign: %v", err)
		}
		req, _ := http.NewRequest("GET", *base+"/_matrix/client/v3/login/sso/redirect/proconnect?redirectUrl="+url.QueryEscape("http://bench.invalid/"), nil)
		req.Header.Set(identity.Header, tok)
		resp, err := client.Do(req)
		if err != nil {
			fail("sso: %v", err)
		}
		resp.Body.Close()
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || loc.Query().Get("loginToken") == "" {
			fail("sso redirect: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		var out struct {
			UserID      string `json:"user_id"`
			AccessToken string `json:"access_token"`
		}
		call("", "POST", *base+"/_matrix/client/v3/login", map[string]any{"type": "m.login.token", "token": loc.Query().Get("loginToken")}, &out)
		return agent{out.UserID, out.AccessToken}
	}

	observer := login("observer")
	agents := make([]agent, *nAgents)
	for i := range agents {
		agents[i] = login(fmt.Sprintf("agent%02d", i))
	}
	rooms := make([]string, *nRooms)
	for r := range rooms {
		invite := []string{observer.userID}
		for i := r; i < len(agents); i += *nRooms {
			invite = append(invite, agents[i].userID)
		}
		var out struct {
			RoomID string `json:"room_id"`
		}
		call(observer.token, "POST", *base+"/_matrix/client/v3/createRoom", map[string]any{"preset": "public_chat", "name": fmt.Sprintf("bench %d", r), "invite": invite[1:]}, &out)
		rooms[r] = out.RoomID
		for i := r; i < len(agents); i += *nRooms {
			call(agents[i].token, "POST", *base+"/_matrix/client/v3/rooms/"+url.PathEscape(out.RoomID)+"/join", map[string]any{}, nil)
		}
	}

	// The observer syncs up to now, then long-polls in the background.
	var first struct {
		NextBatch string `json:"next_batch"`
	}
	call(observer.token, "GET", *base+"/_matrix/client/v3/sync?filter="+url.QueryEscape(`{"room":{"timeline":{"limit":100}}}`), nil, &first)

	total := *nAgents * *nMsgs
	var mu sync.Mutex
	sentAt := make(map[string]time.Time, total)
	seenAt := make(map[string]time.Time, total)
	allSeen := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		since := first.NextBatch
		for {
			select {
			case <-stop:
				return
			default:
			}
			var resp struct {
				NextBatch string `json:"next_batch"`
				Rooms     struct {
					Join map[string]struct {
						Timeline struct {
							Events []struct {
								Type    string `json:"type"`
								Content struct {
									Body string `json:"body"`
								} `json:"content"`
							} `json:"events"`
							Limited bool `json:"limited"`
						} `json:"timeline"`
					} `json:"join"`
				} `json:"rooms"`
			}
			call(observer.token, "GET", *base+"/_matrix/client/v3/sync?timeout=30000&since="+url.QueryEscape(since)+"&filter="+url.QueryEscape(`{"room":{"timeline":{"limit":100}}}`), nil, &resp)
			now := time.Now()
			mu.Lock()
			for _, jr := range resp.Rooms.Join {
				for _, ev := range jr.Timeline.Events {
					if ev.Type == "m.room.message" && strings.HasPrefix(ev.Content.Body, "bench ") {
						if _, ok := seenAt[ev.Content.Body]; !ok {
							seenAt[ev.Content.Body] = now
						}
					}
				}
			}
			n := len(seenAt)
			mu.Unlock()
			if n == total {
				close(allSeen)
				return
			}
			since = resp.NextBatch
		}
	}()

	cpu0 := cpuSeconds(*pid)
	type job struct{ agent, seq int }
	jobs := make(chan job)
	var sendLat []time.Duration
	var errors int
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				a := agents[j.agent]
				room := rooms[j.agent%*nRooms]
				body := fmt.Sprintf("bench %d-%d", j.agent, j.seq)
				t0 := time.Now()
				mu.Lock()
				sentAt[body] = t0
				mu.Unlock()
				err := tryCall(a.token, "PUT", *base+"/_matrix/client/v3/rooms/"+url.PathEscape(room)+"/send/m.room.message/"+body[6:], map[string]any{"msgtype": "m.text", "body": body}, nil)
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					errors++
					if firstErr == nil {
						firstErr = err
					}
					delete(sentAt, body)
				} else {
					sendLat = append(sendLat, d)
				}
				mu.Unlock()
			}
		}()
	}
	// Interleave agents, as a room of people talking would.
	for seq := range *nMsgs {
		for a := range agents {
			jobs <- job{a, seq}
		}
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case <-allSeen:
	case <-time.After(30 * time.Second):
	}
	close(stop)
	cpu1 := cpuSeconds(*pid)

	mu.Lock()
	var deliv []time.Duration
	lost := 0
	for body, t0 := range sentAt {
		if t1, ok := seenAt[body]; ok {
			deliv = append(deliv, t1.Sub(t0))
		} else {
			lost++
		}
	}
	mu.Unlock()

	// Full initial sync of the observer (5 rooms, default filter).
	t0 := time.Now()
	var full json.RawMessage
	call(observer.token, "GET", *base+"/_matrix/client/v3/sync", nil, &full)
	initial := time.Since(t0)

	fmt.Printf("== chat bench %s: %d agents, %d rooms, %d messages each, concurrency %d\n", *label, *nAgents, *nRooms, *nMsgs, *conc)
	fmt.Printf("sent            %d ok, %d errors in %.2f s\n", len(sendLat), errors, elapsed.Seconds())
	fmt.Printf("throughput      %.1f msg/s\n", float64(len(sendLat))/elapsed.Seconds())
	fmt.Printf("send latency    p50 %s  p95 %s  p99 %s\n", pct(sendLat, 50), pct(sendLat, 95), pct(sendLat, 99))
	fmt.Printf("delivery        p50 %s  p95 %s  p99 %s  (send → observer /sync)\n", pct(deliv, 50), pct(deliv, 95), pct(deliv, 99))
	fmt.Printf("lost            %d\n", lost)
	if *pid > 0 {
		rss, hwm := memKB(*pid)
		fmt.Printf("server CPU      %.2f s during the sends and delivery\n", cpu1-cpu0)
		fmt.Printf("server RSS      %.1f MB now, %.1f MB peak\n", float64(rss)/1024, float64(hwm)/1024)
	}
	fmt.Printf("initial sync    %s (%d bytes)\n", initial.Round(time.Millisecond), len(full))
	if firstErr != nil {
		fmt.Fprintf(os.Stderr, "chat-bench: first send error: %v\n", firstErr)
	}
	if lost > 0 || errors > 0 {
		os.Exit(1)
	}
}

func pct(ds []time.Duration, p int) string {
	if len(ds) == 0 {
		return "-"
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := min(len(s)-1, (len(s)*p+99)/100-1)
	return fmt.Sprintf("%.1fms", float64(s[max(i, 0)].Microseconds())/1000)
}

func tryCall(token, method, u string, body, out any) error {
	var rd io.Reader
	if body != nil {
		js, _ := json.Marshal(body)
		rd = bytes.NewReader(js)
	}
	req, _ := http.NewRequest(method, u, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s %s: %d %s", method, u, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func call(token, method, u string, body, out any) {
	if err := tryCall(token, method, u, body, out); err != nil {
		fail("%v", err)
	}
}

func fail(f string, args ...any) {
	fmt.Fprintf(os.Stderr, "chat-bench: "+f+"\n", args...)
	os.Exit(2)
}

// cpuSeconds is the process's user+system CPU time.
func cpuSeconds(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// memKB returns VmRSS and VmHWM (peak) in kB.
func memKB(pid int) (rss, hwm int) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			rss, _ = strconv.Atoi(f[1])
		case "VmHWM:":
			hwm, _ = strconv.Atoi(f[1])
		}
	}
	return
}
