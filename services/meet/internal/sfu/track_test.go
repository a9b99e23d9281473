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
