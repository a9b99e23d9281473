package sfu

import "encoding/binary"

// Transport-wide congestion control feedback (RTCP 205, FMT 15,
// draft-holmer-rmcat-transport-wide-cc-extensions-01), read in place: the
// estimator needs, per reported packet, its transport sequence number and
// whether and when it arrived; pion's rtcp decodes the same into a slice
// of chunks and one allocated struct per packet.
//
//	 0: V P FMT=15 | PT=205 | length
//	 4: sender SSRC
//	 8: media SSRC
//	12: base sequence number | packet status count
//	16: reference time (24 bits, ×64 ms) | feedback packet count
//	20: packet status chunks (16 bits each), then receive deltas
//
// A chunk is a run (0 | symbol:2 | length:13) or a vector (1 | S | 14
// one-bit or 7 two-bit symbols). Symbols: 0 not received, 1 received
// with a 1-byte unsigned delta, 2 received with a 2-byte signed delta
// (×250 µs), 3 reserved (not received).

// twccDeltaUnit is the receive delta unit in µs.
const twccDeltaUnit = 250

// twccStatuses walks the status symbols of a feedback's chunks: one
// chunk at a time, one symbol per call.
type twccStatuses struct {
	b    []byte // chunks and what follows
	off  int    // next chunk
	word uint16 // current chunk
	left int    // symbols of the current chunk not yet taken
	idx  int    // next symbol of a vector chunk
}

// next is the next status symbol (false: the chunks ended early).
func (s *twccStatuses) next() (uint8, bool) {
	for s.left == 0 {
		if s.off+2 > len(s.b) {
			return 0, false
		}
		s.word = binary.BigEndian.Uint16(s.b[s.off:])
		s.off += 2
		s.idx = 0
		switch {
		case s.word&0x8000 == 0:
			s.left = int(s.word & 0x1fff) // a run may be empty: next chunk
		case s.word&0x4000 == 0:
			s.left = 14
		default:
			s.left = 7
		}
	}
	s.left--
	switch {
	case s.word&0x8000 == 0:
		return uint8(s.word>>13) & 3, true
	case s.word&0x4000 == 0:
		i := s.idx
		s.idx++
		return uint8(s.word>>(13-i)) & 1, true
	default:
		i := s.idx
		s.idx++
		return uint8(s.word>>(12-2*i)) & 3, true
	}
}

// parseTWCC walks a compound RTCP packet and calls f for every packet
// each transport-cc feedback in it reports, in sequence order: its
// transport sequence number, whether it arrived, and when (µs on the
// receiver's clock, meaningful only as differences). It reports whether
// the compound held a well-formed feedback; a malformed one stops the
// walk (what was reported before stays reported). No allocation.
func parseTWCC(b []byte, f func(seq uint16, received bool, arrival int64)) bool {
	found := false
	for len(b) >= 4 {
		fmtc, pt := b[0]&0x1f, b[1]
		size := (int(binary.BigEndian.Uint16(b[2:4])) + 1) * 4
		if b[0]>>6 != 2 || size > len(b) {
			return found
		}
		if pt == 205 && fmtc == 15 {
			if !parseOneTWCC(b[:size], f) {
				return found
			}
			found = true
		}
		b = b[size:]
	}
	return found
}

func parseOneTWCC(b []byte, f func(seq uint16, received bool, arrival int64)) bool {
	if len(b) < 20 {
		return false
	}
	base := binary.BigEndian.Uint16(b[12:])
	count := int(binary.BigEndian.Uint16(b[14:]))
	ref := int64(uint32(b[16])<<16 | uint32(b[17])<<8 | uint32(b[18]))
	// First pass: where the chunks end and the deltas begin.
	chunks := twccStatuses{b: b[20:]}
	for range count {
		if _, ok := chunks.next(); !ok {
			return false
		}
	}
	deltas := b[20+chunks.off:]
	// Second pass: statuses and deltas together.
	st := twccStatuses{b: b[20:]}
	arrival := ref * 64000
	for i := range count {
		sym, _ := st.next()
		seq := base + uint16(i)
		switch sym {
		case 1:
			if len(deltas) < 1 {
				return false
			}
			arrival += int64(deltas[0]) * twccDeltaUnit
			deltas = deltas[1:]
			f(seq, true, arrival)
		case 2:
			if len(deltas) < 2 {
				return false
			}
			arrival += int64(int16(binary.BigEndian.Uint16(deltas))) * twccDeltaUnit
			deltas = deltas[2:]
			f(seq, true, arrival)
		default:
			f(seq, false, 0)
		}
	}
	return true
}
