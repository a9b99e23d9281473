package sfu

import (
	"encoding/binary"
	"sync/atomic"
	"time"
)

// Audio levels (RFC 6464): each Opus packet carries one byte, the level
// of the audio in -dBov (0 loudest, 127 silence). The forwarding loop
// reads it in place and keeps a smoothed loudness per track; the
// conference picks the active speaker from it.

// AudioLevel returns the audio level extension with the given id of an
// RTP packet, walking the header in place (one- and two-byte extension
// forms).
func AudioLevel(b []byte, id uint8) (uint8, bool) {
	if id == 0 || len(b) < 12 || b[0]&0x10 == 0 {
		return 0, false
	}
	off := 12 + 4*int(b[0]&0x0f)
	if len(b) < off+4 {
		return 0, false
	}
	profile := binary.BigEndian.Uint16(b[off:])
	n := 4 * int(binary.BigEndian.Uint16(b[off+2:]))
	off += 4
	if len(b) < off+n {
		return 0, false
	}
	ext := b[off : off+n]
	switch {
	case profile == 0xBEDE:
		for i := 0; i < len(ext); {
			if ext[i] == 0 { // padding
				i++
				continue
			}
			eid, l := ext[i]>>4, int(ext[i]&0x0f)+1
			if eid == 15 {
				return 0, false
			}
			if i+1+l > len(ext) {
				return 0, false
			}
			if eid == id {
				return ext[i+1] & 0x7f, true
			}
			i += 1 + l
		}
	case profile&0xfff0 == 0x1000:
		for i := 0; i+1 < len(ext); {
			if ext[i] == 0 {
				i++
				continue
			}
			eid, l := ext[i], int(ext[i+1])
			if i+2+l > len(ext) {
				return 0, false
			}
			if eid == id && l > 0 {
				return ext[i+2] & 0x7f, true
			}
			i += 2 + l
		}
	}
	return 0, false
}

// levelMeter is a track's smoothed loudness (127 - level, ×256), written
// by the forwarding loop only.
type levelMeter struct {
	id       uint8 // the negotiated extension id, 0: none
	smoothed int32
	value    atomic.Int32
	at       atomic.Int64 // unix ns of the last level
}

// levelSilence is what a track counts as after this long without a level
// (discontinuous transmission sends nothing in silence).
const levelSilence = 600 * time.Millisecond

func (m *levelMeter) observe(b []byte, now int64) {
	l, ok := AudioLevel(b, m.id)
	if !ok {
		return
	}
	x := int32(127-l) << 8
	// Exponential smoothing over about 8 packets (160 ms of Opus).
	m.smoothed += (x - m.smoothed) / 8
	m.value.Store(m.smoothed)
	m.at.Store(now)
}

// Loudness is the smoothed loudness of an audio track in dB above
// silence (0–127), 0 when no level arrived recently.
func (t *Track) Loudness(now time.Time) float64 {
	if t.level == nil || now.UnixNano()-t.level.at.Load() > int64(levelSilence) || t.paused.Load() {
		return 0
	}
	return float64(t.level.value.Load()) / 256
}
