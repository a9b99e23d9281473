package sfu

import (
	"encoding/binary"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Simulcast: a publisher sends up to three encodings of one video track,
// told apart by their RTP stream id (rid): q (quarter size), h (half), f
// (full). Each subscriber gets a downTrack of its own: one outgoing SSRC,
// fed from one layer at a time, switched only on a keyframe of the new
// layer, with sequence numbers and timestamps rewritten so that the
// subscriber sees one continuous stream.

// Layers.
const (
	LayerLow    = 0
	LayerMedium = 1
	LayerHigh   = 2
	numLayers   = 3
)

// layerIndex maps a rid to its layer: the names browsers and pion
// examples use (q/h/f, l/m/h is not supported: "h" is ambiguous).
func layerIndex(rid string) int {
	switch strings.ToLower(rid) {
	case "q", "low", "0":
		return LayerLow
	case "h", "mid", "medium", "1":
		return LayerMedium
	default:
		return LayerHigh
	}
}

// LayerForSize is the layer to send to a subscriber rendering at most
// width × height (0 = unknown): full ≥ 720p, half ≈ 360p, quarter ≈ 180p.
func LayerForSize(width, height int) int {
	switch {
	case width <= 0 && height <= 0:
		return LayerHigh
	case (height > 0 && height <= 180) || (height <= 0 && width <= 320):
		return LayerLow
	case (height > 0 && height <= 360) || (height <= 0 && width <= 640):
		return LayerMedium
	}
	return LayerHigh
}

// layer is one received encoding.
type layer struct {
	idx     int
	remote  *webrtc.TrackRemote
	lastPLI atomic.Int64
	ring    *ring
	rate    atomic.Int64 // bit/s, measured over the last second
	last    atomic.Int64 // unix ns of the last media packet (topLayer)
}

// ring keeps the last packets of a layer, as received, to answer every
// subscriber's NACKs: one copy per published packet, instead of one per
// subscriber in pion's NACK responder.
type ring struct {
	mu  sync.RWMutex
	seq [ringSize]uint16
	n   [ringSize]uint16
	buf []byte
}

const (
	ringSize = 512 // ≈ 3 s at 1.5 Mbit/s
	ringMTU  = 1500
)

func newRing() *ring { return &ring{buf: make([]byte, ringSize*ringMTU)} }

func (r *ring) put(b []byte) {
	if len(b) < 12 || len(b) > ringMTU {
		return
	}
	seq := binary.BigEndian.Uint16(b[2:4])
	i := int(seq % ringSize)
	r.mu.Lock()
	copy(r.buf[i*ringMTU:], b)
	r.seq[i], r.n[i] = seq, uint16(len(b))
	r.mu.Unlock()
}

// get copies the packet with sequence number seq into dst (0: gone).
func (r *ring) get(seq uint16, dst []byte) int {
	i := int(seq % ringSize)
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.n[i] == 0 || r.seq[i] != seq {
		return 0
	}
	return copy(dst, r.buf[i*ringMTU:i*ringMTU+int(r.n[i])])
}

// Bandwidth policy from the subscriber's receiver reports (RTCP RR,
// every second from browsers and pion): loss above lossDown makes the
// subscriber step down one layer (at most once per downHold); a clean
// report (below lossUp) after upHold without a change lets it try one
// layer up.
const (
	lossDown = 26 // /256: 10 %
	lossUp   = 5  // /256: 2 %
	downHold = time.Second
	upHold   = 3 * time.Second
)

// downTrack is a simulcast track as one subscriber receives it. It
// implements webrtc.TrackLocal.
type downTrack struct {
	t *Track

	mu      sync.Mutex
	ws      webrtc.TrackLocalWriter
	ssrc    uint32
	pt      uint8
	hdr     rtp.Header // the outgoing header, reused: no allocation per packet
	current int        // layer forwarded now, -1 before the first keyframe
	target  int        // layer wanted: switch on its next keyframe
	sizeMax int        // from the subscriber's set_quality
	bwMax   int        // from the loss estimator
	ccMax   int        // from the bandwidth estimate (congestion control)
	seqOff  uint16
	tsOff   uint32
	lastSeq uint16
	lastTS  uint32
	lastAt  int64 // unix ns when the packet of lastTS was written
	started bool
	// sender report counts (lastTS and lastAt are its mapping)
	srPackets, srOctets uint32
	epoch               uint16 // first outgoing sequence number of the current layer
	// Header extensions: publisher id → subscriber id (pion negotiates
	// each side on its own; browsers may differ), written into ext, the
	// outgoing header's own storage. mid/rid and transport-cc are not
	// carried over (the subscriber's mid differs; the transport sequence
	// is stamped per subscriber connection).
	extMap []extPair
	ext    [8]rtp.Extension
	// VP8: picture id and TL0PICIDX offsets, so that a layer switch does
	// not jump in the numbering the subscriber's decoder sees.
	vp8     bool
	picOff  uint16
	tl0Off  uint8
	lastPic uint16
	lastTL0 uint8
	// Retransmissions: RTX (RFC 4588) when the subscriber negotiated
	// video/rtx, on the original SSRC otherwise.
	rtxSSRC uint32
	rtxPT   uint8
	rtxSeq  uint16
	rtxIn   rtp.Header // the buffered packet's header, as received
	rtxHdr  rtp.Header // the header resent
	rtxExt  [8]rtp.Extension
	rtxBuf  []byte
	rtxDesc vp8Desc
	resent  [64]resend // by sequence number modulo 64
	// estimator
	lastDown, lastChange time.Time
	// congestion control probing (see allocate)
	probing int // layer being probed, -1: none
	probeAt time.Time
}

func newDownTrack(t *Track) *downTrack {
	return &downTrack{t: t, current: -1, target: LayerHigh, sizeMax: LayerHigh, bwMax: LayerHigh, ccMax: LayerHigh, probing: -1}
}

// Bind implements webrtc.TrackLocal.
func (d *downTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codecs := ctx.CodecParameters()
	for _, c := range codecs {
		if strings.EqualFold(c.MimeType, d.t.codec.MimeType) {
			ext := extMapping(d.t.recv.GetParameters().HeaderExtensions, ctx.HeaderExtensions())
			d.mu.Lock()
			d.ws, d.ssrc, d.pt = ctx.WriteStream(), uint32(ctx.SSRC()), uint8(c.PayloadType)
			d.extMap, d.vp8 = ext, strings.EqualFold(c.MimeType, webrtc.MimeTypeVP8)
			d.rtxSSRC, d.rtxPT = 0, 0
			if pt, ok := rtxPayloadType(codecs, c.PayloadType); ok && ctx.SSRCRetransmission() != 0 {
				d.rtxSSRC, d.rtxPT = uint32(ctx.SSRCRetransmission()), pt
			}
			d.mu.Unlock()
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
}

type extPair struct{ pub, sub uint8 }

// extMapping pairs the publisher's and the subscriber's ids of the
// header extensions both negotiated, except those the SFU must not carry
// over.
func extMapping(pub, sub []webrtc.RTPHeaderExtensionParameter) []extPair {
	var m []extPair
	for _, p := range pub {
		switch p.URI {
		case sdp.SDESMidURI, sdp.SDESRTPStreamIDURI, sdp.SDESRepairRTPStreamIDURI, sdp.TransportCCURI:
			continue
		}
		for _, s := range sub {
			if s.URI == p.URI && p.ID > 0 && p.ID < 256 && s.ID > 0 && s.ID < 15 {
				m = append(m, extPair{uint8(p.ID), uint8(s.ID)})
			}
		}
	}
	return m
}

// rtxPayloadType is the video/rtx payload type whose apt is pt.
func rtxPayloadType(codecs []webrtc.RTPCodecParameters, pt webrtc.PayloadType) (uint8, bool) {
	apt := "apt=" + strconv.Itoa(int(pt))
	for _, c := range codecs {
		if strings.EqualFold(c.MimeType, webrtc.MimeTypeRTX) {
			for _, f := range strings.Split(c.SDPFmtpLine, ";") {
				if strings.TrimSpace(f) == apt {
					return uint8(c.PayloadType), true
				}
			}
		}
	}
	return 0, false
}

// copyExt gives dst (a copy of src) the subscriber's header extensions,
// in storage of its own (no allocation).
func (d *downTrack) copyExt(dst, src *rtp.Header, store *[8]rtp.Extension) {
	dst.Extension, dst.ExtensionProfile, dst.Extensions = false, 0, store[:0]
	for _, m := range d.extMap {
		if pl := src.GetExtension(m.pub); pl != nil && len(dst.Extensions) < len(store) {
			_ = dst.SetExtension(m.sub, pl)
		}
	}
}

// Unbind implements webrtc.TrackLocal.
func (d *downTrack) Unbind(webrtc.TrackLocalContext) error {
	d.mu.Lock()
	d.ws = nil
	d.mu.Unlock()
	return nil
}

func (d *downTrack) ID() string                       { return d.t.ID }
func (d *downTrack) RID() string                      { return "" }
func (d *downTrack) StreamID() string                 { return d.t.StreamID }
func (d *downTrack) Kind() webrtc.RTPCodecType        { return webrtc.RTPCodecTypeVideo }
func (d *downTrack) Codec() webrtc.RTPCodecCapability { return d.t.codec }

// write forwards one packet of layer idx if this subscriber is on that
// layer, or switches to it on a keyframe when it is the target. It
// reports whether the subscriber waits for a keyframe of this layer: the
// caller asks the publisher for one (throttled), again and again until it
// comes — a subscriber that receives nothing never asks by itself, and a
// screen share sends no periodic keyframes. It returns the size of the
// packet written (plain RTP, as Stats.BytesIn counts it; 0: none): the
// caller adds up its fan-out's counts, one addition to the shared
// counters per fan-out rather than per subscriber.
//
// at is the fan-out's clock, read once for all subscribers.
func (d *downTrack) write(idx int, h *rtp.Header, payload []byte, key bool, vd *vp8Desc, st *Stats, at time.Time) (wantKey bool, size int) {
	now := at.UnixNano()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ws == nil {
		return false, 0
	}
	if d.current != idx {
		if idx != d.target {
			return false, 0
		}
		if !key {
			return true, 0
		}
		if d.started {
			// Continue the outgoing stream: the next sequence number, and
			// a timestamp advanced by the wall time elapsed (90 kHz).
			gap := uint32((now - d.lastAt) * 90 / 1e6)
			if gap == 0 {
				gap = 1
			}
			d.seqOff = d.lastSeq + 1 - h.SequenceNumber
			d.tsOff = d.lastTS + gap - h.Timestamp
			d.picOff = d.lastPic + 1 - vd.pic
			d.tl0Off = d.lastTL0 + 1 - vd.tl0
			st.LayerSwitches.Add(1)
			d.epoch = d.lastSeq + 1
		} else {
			d.seqOff, d.tsOff, d.picOff, d.tl0Off = 0, 0, 0, 0
			d.epoch = h.SequenceNumber
		}
		d.current, d.started = idx, true
	}
	d.hdr = *h
	d.copyExt(&d.hdr, h, &d.ext)
	d.hdr.SSRC, d.hdr.PayloadType = d.ssrc, d.pt
	d.hdr.SequenceNumber += d.seqOff
	d.hdr.Timestamp += d.tsOff
	if d.vp8 {
		// The payload is shared by every subscriber: each writes its own
		// numbering from the original values in vd before its write.
		pic, tl0 := (vd.pic+d.picOff)&vd.picMask(), vd.tl0+d.tl0Off
		vd.put(payload, pic, tl0)
		if int16(d.hdr.SequenceNumber-d.lastSeq) > 0 || d.lastAt == 0 {
			d.lastPic, d.lastTL0 = pic, tl0
		}
	}
	if int16(d.hdr.SequenceNumber-d.lastSeq) > 0 || d.lastAt == 0 {
		d.lastSeq, d.lastTS, d.lastAt = d.hdr.SequenceNumber, d.hdr.Timestamp, now
	}
	if _, err := d.ws.WriteRTP(&d.hdr, payload); err != nil {
		return false, 0
	}
	d.srPackets++
	d.srOctets += uint32(len(payload))
	return false, d.hdr.MarshalSize() + len(payload)
}

// retransmit resends an outgoing packet a subscriber lost, from the
// buffer of the layer it is on; packets of an earlier layer are gone.
func (d *downTrack) retransmit(out uint16, st *Stats) {
	st.NACKs.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ws == nil || d.current < 0 || int16(out-d.epoch) < 0 || int16(d.lastSeq-out) < 0 {
		return
	}
	l := d.t.layers[d.current].Load()
	if l == nil {
		return
	}
	if d.rtxBuf == nil {
		d.rtxBuf = make([]byte, ringMTU)
	}
	now := time.Now().UnixNano()
	if r := &d.resent[out%64]; r.seq == out && r.at != 0 {
		// A receiver asks again before the first copy could arrive, or
		// after it was lost again and again: resending feeds a NACK storm
		// on a congested link.
		if now-r.at < int64(resendGap) || r.n >= resendMax {
			return
		}
		r.at, r.n = now, r.n+1
	} else {
		*r = resend{seq: out, at: now, n: 1}
	}
	n := l.ring.get(out-d.seqOff, d.rtxBuf)
	if n == 0 {
		return
	}
	hl, err := d.rtxIn.Unmarshal(d.rtxBuf[:n])
	if err != nil {
		return
	}
	end := n
	if d.rtxIn.Padding {
		pad := int(d.rtxBuf[n-1])
		if pad == 0 || hl+pad > n {
			return
		}
		end -= pad
	}
	d.rtxHdr = d.rtxIn
	d.rtxHdr.Padding, d.rtxHdr.PaddingSize = false, 0
	d.copyExt(&d.rtxHdr, &d.rtxIn, &d.rtxExt)
	d.rtxHdr.SSRC, d.rtxHdr.PayloadType = d.ssrc, d.pt
	d.rtxHdr.SequenceNumber = out
	d.rtxHdr.Timestamp += d.tsOff
	payload := d.rtxBuf[hl:end]
	if d.vp8 {
		parseVP8Desc(payload, &d.rtxDesc)
		d.rtxDesc.put(payload, (d.rtxDesc.pic+d.picOff)&d.rtxDesc.picMask(), d.rtxDesc.tl0+d.tl0Off)
	}
	if d.rtxSSRC != 0 && hl >= 2 {
		// RTX: the original sequence number, then the original payload,
		// on the repair stream (the 2 bytes before the payload are header
		// bytes already parsed).
		binary.BigEndian.PutUint16(d.rtxBuf[hl-2:], out)
		payload = d.rtxBuf[hl-2 : end]
		d.rtxHdr.SSRC, d.rtxHdr.PayloadType, d.rtxHdr.SequenceNumber = d.rtxSSRC, d.rtxPT, d.rtxSeq
		d.rtxSeq++
	}
	if _, err := d.ws.WriteRTP(&d.rtxHdr, payload); err == nil {
		st.Retransmits.Add(1)
		if d.rtxSSRC != 0 {
			st.RTXSent.Add(1)
		} else {
			// Resent on the stream itself: counted by its reports.
			d.srPackets++
			d.srOctets += uint32(len(payload))
		}
	}
}

// resend remembers when a packet was last resent to a subscriber.
type resend struct {
	seq uint16
	n   uint8
	at  int64
}

// A packet is resent to a subscriber at most resendMax times, resendGap
// apart.
const (
	resendMax = 3
	resendGap = 100 * time.Millisecond
)

// setSize caps the layer from the size the subscriber renders.
func (d *downTrack) setSize(l int) {
	d.mu.Lock()
	d.sizeMax = l
	d.mu.Unlock()
	d.retarget()
}

// onReport feeds the estimator one receiver report's loss (x/256).
func (d *downTrack) onReport(fraction uint8, now time.Time) {
	d.mu.Lock()
	switch {
	case fraction > lossDown && now.Sub(d.lastDown) >= downHold:
		l := d.current - 1
		if d.current < 0 {
			l = d.bwMax - 1
		}
		d.bwMax = max(l, LayerLow)
		d.lastDown, d.lastChange = now, now
	case fraction < lossUp && d.bwMax < LayerHigh && now.Sub(d.lastChange) >= upHold:
		d.bwMax++
		d.lastChange = now
	}
	d.mu.Unlock()
	d.retarget()
}

// retarget picks the layer to forward; a new target needs its keyframe.
func (d *downTrack) retarget() {
	d.mu.Lock()
	want := min(d.sizeMax, d.bwMax, d.ccMax, d.t.topLayer())
	changed := want != d.target
	d.target = want
	needKey := d.current != d.target
	d.mu.Unlock()
	if changed && needKey {
		d.t.requestLayerKeyframe(want)
	}
}

// keyframe answers a subscriber's PLI: the layer it is on, or the one it
// waits for.
func (d *downTrack) keyframe() {
	d.mu.Lock()
	l := d.target
	d.mu.Unlock()
	d.t.requestLayerKeyframe(l)
}

// senderCounts are the counts of the stream this subscriber receives.
func (d *downTrack) senderCounts() (srCounts, uint32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ws == nil {
		return srCounts{}, 0
	}
	return srCounts{packets: d.srPackets, octets: d.srOctets, ts: d.lastTS, at: d.lastAt}, d.ssrc
}

// Layer is the layer forwarded now (-1: none yet) and the target.
func (d *downTrack) Layer() (current, target int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.current, d.target
}

// forwardLayer is the hot path of one simulcast encoding: the header is
// parsed once into a reused struct and written to every subscriber on
// this layer, the writes sent together when the fan-out ends (out).
func (t *Track) forwardLayer(l *layer, st *Stats, out fanout) {
	defer t.layerDone()
	buf := make([]byte, 1500)
	var h rtp.Header
	var vd vp8Desc
	var meter rateMeter
	for {
		n, _, err := l.remote.Read(buf)
		if err != nil {
			return
		}
		// Every packet, forwarded or not: a layer's silence must not be
		// mistaken for a lack of subscribers (topLayer).
		now := time.Now()
		l.last.Store(now.UnixNano())
		meter.add(l, n)
		downs := t.downs.Load()
		if !t.received(n, downs != nil && len(*downs) > 0, st) {
			continue
		}
		payload, ok := parsePacket(&h, buf[:n])
		if !ok {
			continue // malformed, or padding only (bandwidth probes)
		}
		l.ring.put(buf[:n])
		key := t.isKey(payload)
		if t.vp8 {
			parseVP8Desc(payload, &vd)
		}
		wantKey, sent, bytes := false, 0, 0
		out.hold()
		for _, d := range *downs {
			w, size := d.write(l.idx, &h, payload, key, &vd, st, now)
			wantKey = wantKey || w
			if size > 0 {
				sent, bytes = sent+1, bytes+size
			}
		}
		out.release()
		st.PacketsOut.Add(uint64(sent))
		st.BytesOut.Add(uint64(bytes))
		if wantKey {
			t.requestLayerKeyframe(l.idx)
		}
	}
}

// layerDone ends the track when its last layer ends.
func (t *Track) layerDone() {
	if t.running.Add(-1) == 0 {
		t.doneOnce.Do(func() { close(t.done) })
	}
}

// topLayer is the highest layer the publisher sends: the highest with a
// packet in the last layerSilence. Browsers pause their upper encodings
// when their uplink or CPU runs short (Chrome's qualityLimitationReason):
// a subscriber kept on a paused layer would see a frozen picture. Each
// subscriber's receiver report (every second or so) retargets it. When
// every layer is quiet (a still screen, no subscriber yet to forward to)
// it is the highest layer ever received.
func (t *Track) topLayer() int {
	now := time.Now().UnixNano()
	highest := -1
	for i := numLayers - 1; i >= 0; i-- {
		l := t.layers[i].Load()
		if l == nil {
			continue
		}
		if highest < 0 {
			highest = i
		}
		if now-l.last.Load() < int64(layerSilence) {
			return i
		}
	}
	return max(highest, LayerLow)
}

// layerSilence: a layer without a packet for this long is paused (30 fps
// video sends ≥ 30 packets a second; 1 fps is the slowest a browser goes).
const layerSilence = 1500 * time.Millisecond

// addSub adds a subscriber's writer to the track's fan-out; removeSub
// takes it out.
func (t *Track) addSub(s subscription) {
	if s.down != nil {
		cowAdd(&t.downMu, &t.downs, s.down)
	}
	// An audio subscriber joins the fan-out when bound (audioDown.Bind).
}

func (t *Track) removeSub(s subscription) {
	if s.down != nil {
		cowRemove(&t.downMu, &t.downs, func(d *downTrack) bool { return d != s.down })
	}
	if s.aud != nil {
		s.aud.unbind()
	}
}

// cowAdd and cowRemove change a copy-on-write list (the hot path loads it
// without a lock); mu serialises the changes.
func cowAdd[T any](mu *sync.Mutex, list *atomic.Pointer[[]T], x T) {
	mu.Lock()
	defer mu.Unlock()
	var cur []T
	if p := list.Load(); p != nil {
		cur = *p
	}
	next := make([]T, 0, len(cur)+1)
	next = append(append(next, cur...), x)
	list.Store(&next)
}

func cowRemove[T any](mu *sync.Mutex, list *atomic.Pointer[[]T], keep func(T) bool) {
	mu.Lock()
	defer mu.Unlock()
	p := list.Load()
	if p == nil {
		return
	}
	next := make([]T, 0, len(*p))
	for _, y := range *p {
		if keep(y) {
			next = append(next, y)
		}
	}
	list.Store(&next)
}

// requestLayerKeyframe sends a PLI for one layer, at most once per
// keyframeInterval per layer; an absent layer falls back to the nearest
// lower one.
func (t *Track) requestLayerKeyframe(idx int) {
	var l *layer
	for i := idx; i >= 0 && l == nil; i-- {
		l = t.layers[i].Load()
	}
	if l == nil {
		return
	}
	t.Publisher.throttledPLI(&l.lastPLI, uint32(l.remote.SSRC()))
}

// IsVP8Keyframe reports whether an RTP payload starts a VP8 keyframe:
// the payload descriptor (RFC 7741) has S=1 and partition 0, and the
// frame tag's P bit is clear. In place, no allocation.
func IsVP8Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	b0 := p[0]
	if b0&0x10 == 0 || b0&0x07 != 0 { // S bit, PID 0
		return false
	}
	i := 1
	if b0&0x80 != 0 { // X: extension byte
		if len(p) < 2 {
			return false
		}
		x := p[1]
		i = 2
		if x&0x80 != 0 { // I: picture id
			if len(p) <= i {
				return false
			}
			if p[i]&0x80 != 0 {
				i += 2
			} else {
				i++
			}
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if x&0x30 != 0 { // T or K: TID/KEYIDX byte
			i++
		}
	}
	return len(p) > i && p[i]&0x01 == 0
}

// ReportLoss walks a compound RTCP packet in place and returns the
// fraction lost (x/256) a receiver report gives for ssrc.
func ReportLoss(b []byte, ssrc uint32) (uint8, bool) {
	frac, _, ok := ReportBlock(b, ssrc)
	return frac, ok
}

// ReportBlock walks a compound RTCP packet in place and returns the
// fraction lost (x/256) and the cumulative number of packets lost (24-bit
// signed, RFC 3550 6.4.1) a receiver report gives for ssrc.
func ReportBlock(b []byte, ssrc uint32) (fraction uint8, cumulative int32, ok bool) {
	for len(b) >= 4 {
		count, pt := int(b[0]&0x1f), b[1]
		size := (int(binary.BigEndian.Uint16(b[2:4])) + 1) * 4
		if b[0]>>6 != 2 || size > len(b) {
			return 0, 0, false
		}
		// 201 = RR: header, sender SSRC, then 24-byte report blocks; 200 =
		// SR: 20 more bytes of sender info before the blocks.
		off := 0
		switch pt {
		case 201:
			off = 8
		case 200:
			off = 28
		}
		if off > 0 {
			for i := 0; i < count && off+24 <= size; i++ {
				if binary.BigEndian.Uint32(b[off:]) == ssrc {
					cum := int32(uint32(b[off+5])<<16|uint32(b[off+6])<<8|uint32(b[off+7])) << 8 >> 8
					return b[off+4], cum, true
				}
				off += 24
			}
		}
		b = b[size:]
	}
	return 0, 0, false
}

// lossCounter turns one subscriber stream's cumulative lost counts into
// increases of Stats.PacketsLost (decreases — duplicates — are ignored).
type lossCounter struct {
	last int32
	seen bool
}

func (l *lossCounter) report(cum int32, st *Stats) {
	if l.seen && cum > l.last {
		st.PacketsLost.Add(uint64(cum - l.last))
	} else if !l.seen && cum > 0 {
		st.PacketsLost.Add(uint64(cum))
	}
	l.last, l.seen = cum, true
}

// AddSimulcastRecv declares, in the m-sections with the given mids that
// are recvonly, that the server receives three encodings (rids q, h, f):
// pion does not write receive simulcast in its own offers.
func AddSimulcastRecv(offer string, mids []string) string {
	const lines = "a=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\na=simulcast:recv q;h;f\r\n"
	secs := strings.Split(offer, "\r\nm=")
	for i := 1; i < len(secs); i++ {
		for _, mid := range mids {
			if !strings.Contains(secs[i], "\r\na=mid:"+mid+"\r\n") || strings.Contains(secs[i], "a=simulcast:") {
				continue
			}
			if j := strings.Index(secs[i], "\r\na=recvonly"); j >= 0 {
				secs[i] = secs[i][:j+2] + lines + secs[i][j+2:]
			}
		}
	}
	return strings.Join(secs, "\r\nm=")
}

// ForEachNack calls f with every sequence number a generic NACK (RTCP
// 205/1) for mediaSSRC asks for, walking the compound packet in place.
func ForEachNack(b []byte, mediaSSRC uint32, f func(seq uint16)) {
	for len(b) >= 4 {
		fmtc, pt := b[0]&0x1f, b[1]
		size := (int(binary.BigEndian.Uint16(b[2:4])) + 1) * 4
		if b[0]>>6 != 2 || size > len(b) {
			return
		}
		if pt == 205 && fmtc == 1 && size >= 16 && binary.BigEndian.Uint32(b[8:12]) == mediaSSRC {
			for off := 12; off+4 <= size; off += 4 {
				pid, blp := binary.BigEndian.Uint16(b[off:]), binary.BigEndian.Uint16(b[off+2:])
				f(pid)
				for i := uint16(0); i < 16; i++ {
					if blp&(1<<i) != 0 {
						f(pid + i + 1)
					}
				}
			}
		}
		b = b[size:]
	}
}
