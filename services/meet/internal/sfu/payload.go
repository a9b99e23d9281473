package sfu

import (
	"encoding/binary"
	"strings"

	"github.com/pion/webrtc/v4"
)

// Codec payloads, read in place (no allocation): what the SFU needs to
// switch layers — is this packet the start of a keyframe — and, for VP8,
// where the picture id and TL0PICIDX are, to rewrite them so that a
// subscriber switched between simulcast encodings (each numbering its
// pictures on its own) sees one continuous numbering.

// vp8Desc locates the rewritable fields of a VP8 payload descriptor (RFC
// 7741 §4.2); offsets are 0 when a field is absent.
type vp8Desc struct {
	picAt, tl0At int
	wide         bool // 15-bit picture id
	pic          uint16
	tl0          uint8
}

func parseVP8Desc(p []byte, d *vp8Desc) {
	*d = vp8Desc{}
	if len(p) < 2 || p[0]&0x80 == 0 { // X: no extension byte
		return
	}
	x, i := p[1], 2
	if x&0x80 != 0 { // I: picture id
		if len(p) <= i {
			return
		}
		if p[i]&0x80 != 0 {
			if len(p) <= i+1 {
				return
			}
			d.picAt, d.wide, d.pic = i, true, binary.BigEndian.Uint16(p[i:])&0x7fff
			i += 2
		} else {
			d.picAt, d.pic = i, uint16(p[i])
			i++
		}
	}
	if x&0x40 != 0 && len(p) > i { // L: TL0PICIDX
		d.tl0At, d.tl0 = i, p[i]
	}
}

// put writes picture id pic and TL0PICIDX tl0 at d's offsets in p.
func (d *vp8Desc) put(p []byte, pic uint16, tl0 uint8) {
	if d.picAt > 0 {
		if d.wide {
			binary.BigEndian.PutUint16(p[d.picAt:], 0x8000|pic&0x7fff)
		} else {
			p[d.picAt] = byte(pic & 0x7f)
		}
	}
	if d.tl0At > 0 {
		p[d.tl0At] = tl0
	}
}

// picMask is the picture id's modulus minus one.
func (d *vp8Desc) picMask() uint16 {
	if d.wide {
		return 0x7fff
	}
	return 0x7f
}

// IsH264Keyframe reports whether an RTP payload (RFC 6184) carries or
// starts an IDR picture or a sequence parameter set: a single NAL unit of
// type 5 or 7, a STAP-A aggregating one, or the first fragment of an
// FU-A of an IDR slice.
func IsH264Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	switch n := p[0] & 0x1f; n {
	case 5, 7:
		return true
	case 24: // STAP-A: 16-bit size, NAL unit, …
		for i := 1; i+2 < len(p); {
			size := int(binary.BigEndian.Uint16(p[i:]))
			i += 2
			if size == 0 || i+size > len(p) {
				return false
			}
			if t := p[i] & 0x1f; t == 5 || t == 7 {
				return true
			}
			i += size
		}
	case 28: // FU-A: indicator, header (S bit, type)
		return len(p) > 1 && p[1]&0x80 != 0 && p[1]&0x1f == 5
	}
	return false
}

// keyframeFunc is the keyframe test of a codec; with an unknown codec
// every packet counts as one (layers switch at once).
func keyframeFunc(mime string) func([]byte) bool {
	switch {
	case strings.EqualFold(mime, webrtc.MimeTypeVP8):
		return IsVP8Keyframe
	case strings.EqualFold(mime, webrtc.MimeTypeH264):
		return IsH264Keyframe
	}
	return func([]byte) bool { return true }
}
