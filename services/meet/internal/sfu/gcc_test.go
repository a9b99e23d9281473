package sfu

import (
	"math/rand/v2"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// simLink is a bottleneck: a FIFO queue drained at capacity (bytes/s),
// dropping what would wait more than maxQueue, then a propagation delay
// and a little jitter that never reorders.
type simLink struct {
	capacity  float64
	maxQueue  int64 // µs
	busyUntil int64
	last      int64
	rnd       *rand.Rand
}

func (l *simLink) send(at int64, size int) (int64, bool) {
	start := max(at, l.busyUntil)
	if start-at > l.maxQueue {
		return 0, false
	}
	l.busyUntil = start + int64(float64(size)/l.capacity*1e6)
	arrival := max(l.busyUntil+20_000+l.rnd.Int64N(2_000), l.last)
	l.last = arrival
	return arrival, true
}

// simulation drives a sendSide over a simLink with synthetic clocks: the
// sender sends 1200-byte packets at the current estimate (an encoder
// following it, as a subscriber moving between layers does in steps),
// the receiver builds transport-cc feedback with pion's recorder (what
// browsers and pion clients send) every 100 ms.
type simulation struct {
	t        *testing.T
	s        *sendSide
	link     *simLink
	rec      *twcc.Recorder
	now      int64 // µs
	nextSend int64
	nextFB   int64
	seq      uint16
	inFlight []arrivalAt
	sentBits float64
}

type arrivalAt struct {
	seq uint16
	at  int64
}

func newSimulation(t *testing.T, capacityBps float64) *simulation {
	return &simulation{
		t: t, s: newSendSide(), rec: twcc.NewRecorder(1),
		link: &simLink{capacity: capacityBps / 8, maxQueue: 400_000, rnd: rand.New(rand.NewPCG(1, 2))},
	}
}

// run advances the simulation by d µs, in 1 ms steps.
func (m *simulation) run(d int64) {
	for end := m.now + d; m.now < end; m.now += 1000 {
		for m.nextSend <= m.now {
			const size = 1200
			seq := m.seq
			m.seq++
			m.s.record(seq, size, m.now)
			m.sentBits += size * 8
			if at, ok := m.link.send(m.now, size); ok {
				m.inFlight = append(m.inFlight, arrivalAt{seq, at})
			}
			m.nextSend += int64(size * 8 * 1e6 / float64(m.s.Bitrate()))
		}
		n := 0
		for _, p := range m.inFlight {
			if p.at > m.now {
				break
			}
			m.rec.Record(7, p.seq, p.at)
			n++
		}
		m.inFlight = m.inFlight[n:]
		if m.now >= m.nextFB {
			m.nextFB = m.now + 100_000
			for _, p := range m.rec.BuildFeedbackPacket() {
				b, err := p.Marshal()
				if err != nil {
					m.t.Fatal(err)
				}
				m.s.feedback(b, m.now)
			}
		}
	}
}

// rate runs d µs and returns the rate sent meanwhile (bit/s).
func (m *simulation) rate(d int64) float64 {
	m.sentBits = 0
	m.run(d)
	return m.sentBits * 1e6 / float64(d)
}

// The estimate settles under a link's capacity, follows it down when it
// shrinks, and climbs back when it grows again.
func TestSendSideFollowsCapacity(t *testing.T) {
	m := newSimulation(t, 1_500_000)
	m.run(15e6)
	m.expect("1.5 Mbit/s link", 700_000, 1_650_000, 800_000)

	m.link.capacity = 500_000 / 8
	m.run(3e6)
	m.expect("0.5 Mbit/s link, after 3 s", 0, 600_000, 0)
	m.run(10e6)
	m.expect("0.5 Mbit/s link", 200_000, 560_000, 250_000)

	m.link.capacity = 2_000_000 / 8
	m.run(25e6)
	m.expect("2 Mbit/s link, after 25 s", 1_200_000, 2_200_000, 0)
}

// expect checks the estimate is within [lo, hi] and, when minSent > 0,
// that the next 5 s send at least minSent bit/s.
func (m *simulation) expect(what string, lo, hi int, minSent float64) {
	m.t.Helper()
	sent := 0.0
	if minSent > 0 {
		sent = m.rate(5e6)
	}
	e := m.s.Bitrate()
	m.t.Logf("%s: estimate %d, sent %.0f bit/s", what, e, sent)
	if e < lo || e > hi || sent < minSent {
		m.t.Fatalf("%s: estimate %d not within [%d, %d], or sent %.0f < %.0f bit/s", what, e, lo, hi, sent, minSent)
	}
}

// A policer that drops instead of queueing shows no delay: the loss bound
// brings the estimate down.
func TestSendSideLossBound(t *testing.T) {
	m := newSimulation(t, 600_000)
	m.link.maxQueue = 5_000
	m.run(10e6)
	m.expect("policed at 0.6 Mbit/s", 150_000, 900_000, 300_000)
}

// A link far above what is sent leaves the estimate alone: no decrease
// from jitter.
func TestSendSideUncongested(t *testing.T) {
	m := newSimulation(t, 50_000_000)
	m.run(20e6)
	if e := m.s.Bitrate(); e < bweInitial {
		t.Fatalf("uncongested: estimate fell to %d", e)
	}
	if m.s.rate.lastDecrease != 0 {
		t.Fatal("uncongested: a delay-based decrease")
	}
}

// Feedback for packets never sent, or garbage, leaves the estimate whole.
func TestSendSideUnknownFeedback(t *testing.T) {
	s := newSendSide()
	rec := twcc.NewRecorder(1)
	for i := range 50 {
		rec.Record(7, uint16(1000+i), int64(i)*1000)
	}
	for _, p := range rec.BuildFeedbackPacket() {
		b, _ := p.Marshal()
		s.feedback(b, 100_000)
	}
	s.feedback([]byte{0x8f, 205, 0, 1, 0, 0}, 200_000)
	if s.Bitrate() != bweInitial {
		t.Fatalf("estimate %d", s.Bitrate())
	}
}

// parseTWCC reads what pion's recorder writes (the feedback of pion
// clients; browsers write the same format): every recorded packet
// received at its time, the gaps lost.
func TestParseTWCC(t *testing.T) {
	rec := twcc.NewRecorder(1)
	arrivals := map[uint16]int64{}
	at := int64(5_000_000)
	for seq := uint16(65500); seq != 100; seq++ { // wraps
		if seq%7 == 3 {
			continue // lost
		}
		at += int64(seq%5) * 1000 // 0–4 ms: small and large deltas
		if seq%50 == 0 {
			at += 100_000
		}
		rec.Record(7, seq, at)
		arrivals[seq] = at
	}
	var got, lost int
	var first int64
	for _, p := range rec.BuildFeedbackPacket() {
		b, _ := p.Marshal()
		ok := parseTWCC(b, func(seq uint16, received bool, arrival int64) {
			want, sent := arrivals[seq]
			if received != sent {
				t.Fatalf("seq %d: received %v, want %v", seq, received, sent)
			}
			if !received {
				lost++
				return
			}
			got++
			if first == 0 {
				first = arrival - want
			}
			// Arrival times are relative to the feedback's reference
			// time (64 ms units) and quantised to 250 µs.
			if d := arrival - want - first; d < -250 || d > 250 {
				t.Fatalf("seq %d: arrival %d, want %d (offset %d)", seq, arrival, want, first)
			}
		})
		if !ok {
			t.Fatal("feedback not parsed")
		}
	}
	if got != len(arrivals) || lost == 0 {
		t.Fatalf("received %d of %d, lost %d", got, len(arrivals), lost)
	}
}

// FuzzParseTWCC: whatever the bytes, no panic; when pion's parser
// accepts a feedback, ours reports the same packets, statuses and
// arrival times.
func FuzzParseTWCC(f *testing.F) {
	rec := twcc.NewRecorder(1)
	for i := range 40 {
		if i%9 != 4 {
			rec.Record(7, uint16(i), int64(i*i)*300)
		}
	}
	for _, p := range rec.BuildFeedbackPacket() {
		b, _ := p.Marshal()
		f.Add(b)
	}
	f.Add([]byte{0x8f, 205, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0, 10, 0, 3, 0, 0, 1, 0, 0xd5, 0x55, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		type pkt struct {
			seq      uint16
			received bool
			arrival  int64
		}
		var ours []pkt
		ok := parseTWCC(b, func(seq uint16, received bool, arrival int64) {
			ours = append(ours, pkt{seq, received, arrival})
		})
		if len(b) < 4 || b[0]>>6 != 2 || b[1] != 205 || b[0]&0x1f != 15 {
			return
		}
		var fb rtcp.TransportLayerCC
		if fb.Unmarshal(b) != nil {
			return
		}
		if !ok {
			t.Fatalf("pion parses %+v, we do not", fb)
		}
		// pion's view: expand the chunks into statuses.
		var want []pkt
		deltas := fb.RecvDeltas
		arrival := int64(fb.ReferenceTime) * 64000
		add := func(sym uint16) {
			if len(want) >= int(fb.PacketStatusCount) {
				return
			}
			p := pkt{seq: fb.BaseSequenceNumber + uint16(len(want))}
			if sym == rtcp.TypeTCCPacketReceivedSmallDelta || sym == rtcp.TypeTCCPacketReceivedLargeDelta {
				arrival += deltas[0].Delta
				deltas = deltas[1:]
				p.received, p.arrival = true, arrival
			}
			want = append(want, p)
		}
		for _, c := range fb.PacketChunks {
			switch c := c.(type) {
			case *rtcp.RunLengthChunk:
				for range c.RunLength {
					add(c.PacketStatusSymbol)
				}
			case *rtcp.StatusVectorChunk:
				for _, s := range c.SymbolList {
					add(s)
				}
			}
		}
		if len(ours) < len(want) {
			t.Fatalf("we report %d packets, pion %d", len(ours), len(want))
		}
		for i := range want {
			if ours[i] != want[i] {
				t.Fatalf("packet %d: ours %+v, pion %+v", i, ours[i], want[i])
			}
		}
	})
}

// Video packets get consecutive transport-wide numbers and are recorded;
// audio packets lose the number the publisher stamped and are not
// recorded (no transport-cc feedback for audio).
func TestCCInterceptorStreams(t *testing.T) {
	c := &ccInterceptor{e: newSendSide()}
	exts := []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 3}}
	var got []*rtp.Header
	sink := interceptor.RTPWriterFunc(func(h *rtp.Header, _ []byte, _ interceptor.Attributes) (int, error) {
		cp := h.Clone()
		got = append(got, &cp)
		return 0, nil
	})
	video := c.BindLocalStream(&interceptor.StreamInfo{MimeType: "video/VP8", RTPHeaderExtensions: exts}, sink)
	audio := c.BindLocalStream(&interceptor.StreamInfo{MimeType: "audio/opus", RTPHeaderExtensions: exts}, sink)
	for range 2 {
		h := rtp.Header{Version: 2}
		_ = h.SetExtension(1, []byte{0x80}) // audio level
		_ = h.SetExtension(3, []byte{0xff, 0xfe})
		if _, err := video.Write(&h, make([]byte, 100), nil); err != nil {
			t.Fatal(err)
		}
		h2 := rtp.Header{Version: 2}
		_ = h2.SetExtension(1, []byte{0x80})
		_ = h2.SetExtension(3, []byte{0xff, 0xfe})
		if _, err := audio.Write(&h2, make([]byte, 100), nil); err != nil {
			t.Fatal(err)
		}
	}
	for i, h := range got {
		tcc := h.GetExtension(3)
		if i%2 == 1 { // audio
			if tcc != nil || h.GetExtension(1) == nil {
				t.Fatalf("audio packet: transport-cc %x, level %x", tcc, h.GetExtension(1))
			}
			continue
		}
		if want := []byte{0, byte(i / 2)}; string(tcc) != string(want) {
			t.Fatalf("video packet %d: transport-cc %x, want %x", i/2, tcc, want)
		}
		if _, _, ok := c.e.lookup(uint16(i / 2)); !ok {
			t.Fatalf("video packet %d not recorded", i/2)
		}
	}
	if c.e.seq.Load() != 2 {
		t.Fatalf("%d transport-wide numbers used, want 2", c.e.seq.Load())
	}
}
