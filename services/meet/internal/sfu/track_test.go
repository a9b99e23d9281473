package sfu

import (
	"testing"

	"github.com/pion/rtcp"
)

func TestWantsKeyframe(t *testing.T) {
	rr := &rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 2}}}
	for _, tc := range []struct {
		pkts []rtcp.Packet
		want bool
	}{
		{[]rtcp.Packet{rr}, false},
		{[]rtcp.Packet{rr, &rtcp.PictureLossIndication{MediaSSRC: 2}}, true},
		{[]rtcp.Packet{rr, &rtcp.FullIntraRequest{MediaSSRC: 2, FIR: []rtcp.FIREntry{{SSRC: 2}}}}, true},
		{[]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: 2, Nacks: []rtcp.NackPair{{PacketID: 1}}}}, false},
		{[]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 1e6, SSRCs: []uint32{2}}}, false},
	} {
		b, err := rtcp.Marshal(tc.pkts)
		if err != nil {
			t.Fatal(err)
		}
		if got := WantsKeyframe(b); got != tc.want {
			t.Errorf("%T…: %v, want %v", tc.pkts[len(tc.pkts)-1], got, tc.want)
		}
	}
	for _, b := range [][]byte{nil, {0x81}, {0x81, 206, 0xff, 0xff}, {0x01, 206, 0, 0}} {
		if WantsKeyframe(b) {
			t.Errorf("garbage %x wants a keyframe", b)
		}
	}
	if n := testing.AllocsPerRun(100, func() { WantsKeyframe([]byte{0x81, 201, 0, 1, 0, 0, 0, 1}) }); n > 0 {
		t.Errorf("%v allocations", n)
	}
}

func FuzzWantsKeyframe(f *testing.F) {
	b, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: 2}})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) { WantsKeyframe(b) })
}

func TestForEachNackAndRing(t *testing.T) {
	b, _ := rtcp.Marshal([]rtcp.Packet{
		&rtcp.ReceiverReport{SSRC: 1},
		&rtcp.TransportLayerNack{MediaSSRC: 9, Nacks: []rtcp.NackPair{{PacketID: 100, LostPackets: 0b101}, {PacketID: 65535}}},
		&rtcp.TransportLayerNack{MediaSSRC: 8, Nacks: []rtcp.NackPair{{PacketID: 7}}},
	})
	var got []uint16
	ForEachNack(b, 9, func(s uint16) { got = append(got, s) })
	if len(got) != 4 || got[0] != 100 || got[1] != 101 || got[2] != 103 || got[3] != 65535 {
		t.Fatalf("nacked %v", got)
	}
	r := newRing()
	pkt := []byte{0x80, 96, 0x01, 0x02, 0, 0, 0, 1, 0, 0, 0, 9, 0xaa}
	r.put(pkt)
	dst := make([]byte, ringMTU)
	if n := r.get(0x0102, dst); n != len(pkt) || dst[12] != 0xaa {
		t.Fatalf("get: %d", n)
	}
	if r.get(0x0102+ringSize, dst) != 0 || r.get(5, dst) != 0 {
		t.Fatal("stale slot returned")
	}
	if n := testing.AllocsPerRun(100, func() { r.put(pkt); r.get(0x0102, dst); ForEachNack(b, 9, func(uint16) {}) }); n > 0 {
		t.Fatalf("%v allocations", n)
	}
}

func TestReportBlockLoss(t *testing.T) {
	var st Stats
	var l lossCounter
	for _, tc := range []struct {
		lost int32
		want uint64
	}{{3, 3}, {3, 3}, {10, 10}, {8, 10}, {-2, 10}, {5, 17}} {
		b, err := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{
			{SSRC: 9, FractionLost: 1}, {SSRC: 2, FractionLost: 7, TotalLost: uint32(tc.lost) & 0xffffff},
		}}})
		if err != nil {
			t.Fatal(err)
		}
		frac, cum, ok := ReportBlock(b, 2)
		if !ok || frac != 7 || cum != tc.lost {
			t.Fatalf("ReportBlock: %d %d %v, want 7 %d", frac, cum, ok, tc.lost)
		}
		l.report(cum, &st)
		if got := st.PacketsLost.Load(); got != tc.want {
			t.Fatalf("cumulative %d: lost %d, want %d", tc.lost, got, tc.want)
		}
	}
	if _, _, ok := ReportBlock([]byte{0x80, 201, 0, 1, 0, 0, 0, 1}, 2); ok {
		t.Fatal("a report without block for the ssrc")
	}
}
