package sfu

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// sendSide is one subscriber connection's send-side bandwidth estimate, a
// small version of the ideas of Google Congestion Control
// (draft-ietf-rmcat-gcc-02, libwebrtc):
//
//   - every outgoing packet gets a transport-wide sequence number; its send
//     time and size go into a ring indexed by that number (record: one
//     atomic store, no lock, no allocation);
//   - the subscriber's transport-cc feedback (≈ every 100 ms) says which
//     packets arrived and when; for groups of packets sent within 5 ms,
//     the change of one-way delay between consecutive groups is
//     accumulated, smoothed and its trend (slope of a linear regression
//     over 20 groups) compared with an adaptive threshold: a queue growing
//     on the path is overuse, one draining is underuse;
//   - an AIMD controller: overuse sets the estimate to 85 % of the rate
//     the subscriber actually received, normal lets it grow 8 % a second
//     (additively, ≈ one packet per 200 ms, once near a capacity seen
//     before), never above 1.5 × the received rate (it cannot know more);
//   - a loss-based bound: more than 10 % lost cuts the estimate by half
//     the loss fraction, less than 2 % lets the bound grow 8 % a second.
//
// The estimate is the smaller of the two. The SFU does not pace: the
// estimate only chooses simulcast layers (allocate).
type sendSide struct {
	seq    atomic.Uint32
	sent   [historySize]atomic.Uint64 // see record
	target atomic.Int64               // bit/s

	// epoch is the origin of send times (monotonic).
	epoch time.Time

	mu    sync.Mutex // feedback comes from several RTCP readers
	delay delayBased
	rate  rateControl
	// kick is called (without blocking) when the estimate falls by 5 %
	// or rises by 10 % since the last kick: the layers are re-chosen.
	kick   func()
	kicked float64
}

// historySize is the number of sent packets remembered: ≈ 14 s at 600
// packets/s, far longer than feedback takes.
const historySize = 1 << 13

func newSendSide() *sendSide {
	s := &sendSide{epoch: time.Now()}
	s.delay.reset()
	s.rate = rateControl{target: bweInitial, lossBound: bweMax}
	s.target.Store(bweInitial)
	s.kicked = bweInitial
	return s
}

func (s *sendSide) setKick(f func()) {
	s.mu.Lock()
	s.kick = f
	s.mu.Unlock()
}

// now is the time in µs since the estimator started.
func (s *sendSide) now() int64 { return time.Since(s.epoch).Microseconds() }

// nextSeq is the transport-wide sequence number of the next packet.
func (s *sendSide) nextSeq() uint16 { return uint16(s.seq.Add(1) - 1) }

// record remembers a packet sent at now (µs, the sender's clock): one
// 64-bit word per slot — sequence number (16 bits), size in 8-byte units
// (8 bits) and send time (40 bits of µs: 12 days) — so that the feedback
// reader sees either the old packet or the new one, never half of each.
func (s *sendSide) record(seq uint16, size int, now int64) {
	units := min((size+7)/8, 255)
	s.sent[int(seq)%historySize].Store(uint64(seq)<<48 | uint64(units)<<40 | uint64(now)&(1<<40-1))
}

func (s *sendSide) lookup(seq uint16) (size int, at int64, ok bool) {
	v := s.sent[int(seq)%historySize].Load()
	if v == 0 || uint16(v>>48) != seq {
		return 0, 0, false
	}
	return int(v>>40&0xff) * 8, int64(v & (1<<40 - 1)), true
}

// feedback applies one compound RTCP packet of the subscriber at now (µs,
// the sender's clock); packets other than transport-cc feedback are
// ignored.
func (s *sendSide) feedback(b []byte, now int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lost, got := 0, 0
	ok := parseTWCC(b, func(seq uint16, received bool, arrival int64) {
		if !received {
			lost++
			return
		}
		got++
		size, sent, ok := s.lookup(seq)
		if !ok {
			return
		}
		s.delay.packet(sent, arrival)
		s.rate.acked(size, arrival)
	})
	if !ok {
		return
	}
	s.rate.update(s.delay.state, lost, got, now)
	t := s.rate.estimate()
	s.target.Store(int64(t))
	if t < s.kicked*0.95 || t > s.kicked*1.1 {
		s.kicked = t
		if s.kick != nil {
			s.kick()
		}
	}
}

// Bitrate is the current estimate in bit/s.
func (s *sendSide) Bitrate() int { return int(s.target.Load()) }

// Delay-based detection.

const (
	groupSpan      = 5_000 // µs: packets sent within 5 ms are one group
	trendWindow    = 20    // groups in the regression
	trendSmoothing = 0.9
	trendGain      = 4.0
	trendMaxDeltas = 60
	// The adaptive threshold (ms of modified trend): starts at 12.5,
	// follows |trend| up slowly (kUp) and down faster (kDown), within
	// [6, 600]; outliers beyond threshold + 15 do not move it.
	thresholdInit = 12.5
	thresholdUp   = 0.0087
	thresholdDown = 0.039
	overuseTimeMs = 10.0
)

// Delay states.
const (
	bwNormal = iota
	bwUnderuse
	bwOveruse
)

type delayBased struct {
	// the group being filled and the last complete one (µs)
	gFirst, gLast, gArrival int64
	gOpen                   bool
	pLast, pArrival         int64
	pValid                  bool
	// trend
	first     int64 // arrival of the first group: regression x origin
	acc, smth float64
	xs, ys    [trendWindow]float64
	n, head   int
	deltas    int
	prevTrend float64
	// detector
	threshold  float64
	lastUpdate int64 // ms, receiver clock
	overTime   float64
	overCount  int
	state      int
}

func (d *delayBased) reset() {
	*d = delayBased{threshold: thresholdInit, overTime: -1}
}

// packet adds one received packet, in transport sequence order.
func (d *delayBased) packet(sent, arrival int64) {
	if d.gOpen && sent < d.gFirst {
		// Stamped out of order by two writers racing for the sequence
		// number: it belongs to an earlier group; ignored.
		return
	}
	if d.gOpen && sent-d.gFirst <= groupSpan {
		d.gLast = max(d.gLast, sent)
		d.gArrival = max(d.gArrival, arrival)
		return
	}
	if d.gOpen {
		if d.pValid {
			d.groupDelta(d.gLast-d.pLast, d.gArrival-d.pArrival, d.gArrival)
		}
		d.pLast, d.pArrival, d.pValid = d.gLast, d.gArrival, true
	}
	d.gFirst, d.gLast, d.gArrival, d.gOpen = sent, sent, arrival, true
}

// groupDelta feeds the trend with one group's delay variation (µs).
func (d *delayBased) groupDelta(sendDelta, arrivalDelta, arrival int64) {
	if arrivalDelta < -1_000_000 || arrivalDelta > 3_000_000 {
		// A receiver clock jump or a reordering mess: start over.
		d.reset()
		return
	}
	variation := float64(arrivalDelta-sendDelta) / 1000
	d.deltas = min(d.deltas+1, trendMaxDeltas)
	d.acc += variation
	d.smth = trendSmoothing*d.smth + (1-trendSmoothing)*d.acc
	if d.n == 0 && d.first == 0 {
		d.first = arrival
	}
	d.xs[d.head], d.ys[d.head] = float64(arrival-d.first)/1000, d.smth
	d.head = (d.head + 1) % trendWindow
	d.n = min(d.n+1, trendWindow)
	trend := d.prevTrend
	if d.n == trendWindow {
		trend = slope(d.xs[:], d.ys[:])
	}
	d.detect(trend, float64(sendDelta)/1000, arrival/1000)
}

// slope is the least-squares slope of y over x (0 when x does not vary).
func slope(xs, ys []float64) float64 {
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(len(xs))
	my /= float64(len(ys))
	var num, den float64
	for i := range xs {
		num += (xs[i] - mx) * (ys[i] - my)
		den += (xs[i] - mx) * (xs[i] - mx)
	}
	if den == 0 {
		return 0
	}
	return num / den
}

func (d *delayBased) detect(trend, sendDeltaMs float64, nowMs int64) {
	if d.deltas < 2 {
		return
	}
	m := float64(d.deltas) * trend * trendGain
	switch {
	case m > d.threshold:
		if d.overTime < 0 {
			d.overTime = sendDeltaMs / 2
		} else {
			d.overTime += sendDeltaMs
		}
		d.overCount++
		if d.overTime > overuseTimeMs && d.overCount > 1 && trend >= d.prevTrend {
			d.overTime, d.overCount = 0, 0
			d.state = bwOveruse
		}
	case m < -d.threshold:
		d.overTime, d.overCount = -1, 0
		d.state = bwUnderuse
	default:
		d.overTime, d.overCount = -1, 0
		d.state = bwNormal
	}
	d.prevTrend = trend
	d.adapt(m, nowMs)
}

func (d *delayBased) adapt(m float64, nowMs int64) {
	if d.lastUpdate == 0 {
		d.lastUpdate = nowMs
	}
	am := math.Abs(m)
	if am > d.threshold+15 {
		d.lastUpdate = nowMs
		return
	}
	k := thresholdUp
	if am < d.threshold {
		k = thresholdDown
	}
	dt := float64(min(max(nowMs-d.lastUpdate, 0), 100))
	d.threshold = min(max(d.threshold+k*(am-d.threshold)*dt, 6), 600)
	d.lastUpdate = nowMs
}

// Rate control.

const (
	decreaseFactor = 0.85
	increasePerSec = 1.08
	decreaseEvery  = 200_000 // µs between delay-based decreases
	lossHigh       = 0.10
	lossLow        = 0.02
	lossMinPackets = 20
	lossEvery      = 300_000 // µs between loss-based decreases
	ackWindow      = 500_000 // µs of arrivals per received-rate measurement
	// additiveStep is the increase per second near a known capacity:
	// one 1200-byte packet per 200 ms.
	additiveStep = 1200 * 8 * 5
)

type rateControl struct {
	target    float64 // delay-based, bit/s
	lossBound float64
	// received rate, over windows of arrival time
	ackRate          float64
	ackBytes         int
	ackStart, ackEnd int64
	// capacity: the received rate at the last overuse (0: unknown)
	capacity float64
	// loss accumulated until lossMinPackets
	lost, got                int
	lastUpdate, lastDecrease int64
	lastLoss, lastLossCut    int64
}

// acked counts a received packet towards the received rate.
func (r *rateControl) acked(size int, arrival int64) {
	if r.ackBytes == 0 && r.ackStart == 0 {
		r.ackStart = arrival
	}
	r.ackBytes += size
	r.ackEnd = max(r.ackEnd, arrival)
	if el := r.ackEnd - r.ackStart; el >= ackWindow {
		r.ackRate = float64(r.ackBytes) * 8e6 / float64(el)
		r.ackStart, r.ackBytes = r.ackEnd, 0
	}
}

// update moves the estimate after one feedback: delay state, then loss.
func (r *rateControl) update(state, lost, got int, now int64) {
	if r.lastUpdate == 0 {
		r.lastUpdate, r.lastLoss = now, now
	}
	dt := float64(min(max(now-r.lastUpdate, 0), 1_000_000)) / 1e6
	r.lastUpdate = now
	switch state {
	case bwOveruse:
		if now-r.lastDecrease >= decreaseEvery {
			base := r.ackRate
			if base == 0 {
				base = r.target
			}
			r.target = min(r.target, decreaseFactor*base)
			r.capacity = base
			r.lastDecrease = now
		}
	case bwNormal:
		if r.capacity > 0 && r.ackRate > 1.5*r.capacity {
			r.capacity = 0 // the path changed: far above what it carried
		}
		next := r.target * math.Pow(increasePerSec, dt)
		if r.capacity > 0 && r.target > 0.9*r.capacity {
			next = r.target + additiveStep*dt
		}
		if r.ackRate > 0 {
			// Never above what the subscriber showed it can receive, but
			// a cap below the current estimate does not lower it.
			next = max(min(next, 1.5*r.ackRate+10_000), r.target)
		}
		r.target = next
	}
	r.target = min(max(r.target, bweMin), bweMax)

	r.lost += lost
	r.got += got
	if r.lost+r.got < lossMinPackets {
		return
	}
	frac := float64(r.lost) / float64(r.lost+r.got)
	ldt := float64(min(max(now-r.lastLoss, 0), 1_000_000)) / 1e6
	r.lost, r.got, r.lastLoss = 0, 0, now
	switch {
	case frac > lossHigh:
		if now-r.lastLossCut >= lossEvery {
			r.lossBound = r.estimate() * (1 - 0.5*frac)
			r.lastLossCut = now
		}
	case frac < lossLow:
		r.lossBound *= math.Pow(increasePerSec, ldt)
	}
	r.lossBound = min(max(r.lossBound, bweMin), bweMax)
}

// estimate is the smaller of the delay-based estimate and the loss bound.
func (r *rateControl) estimate() float64 { return min(r.target, r.lossBound) }
