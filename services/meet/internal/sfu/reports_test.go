package sfu

import (
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// The receiver-report interceptor behind srOnly still learns publishers'
// sender reports (its receiver reports echo them: LSR), passes other RTCP
// through untouched, and no longer fails a reader on RTCP it cannot
// decode.
func TestSROnly(t *testing.T) {
	f, err := report.NewReceiverInterceptor(report.ReceiverInterval(5 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	i, err := srOnlyFactory{f}.NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	lsr := make(chan uint32, 100)
	i.BindRTCPWriter(interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
		for _, p := range pkts {
			if rr, ok := p.(*rtcp.ReceiverReport); ok && len(rr.Reports) > 0 {
				select {
				case lsr <- rr.Reports[0].LastSenderReport:
				default:
				}
			}
		}
		return 0, nil
	}))
	pkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 77, SequenceNumber: 1}, Payload: []byte{1}}).Marshal()
	r := i.BindRemoteStream(&interceptor.StreamInfo{SSRC: 77, ClockRate: 90000}, interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, pkt), a, nil
	}))
	if _, _, err := r.Read(make([]byte, 1500), nil); err != nil {
		t.Fatal(err)
	}

	var next []byte
	rd := i.BindRTCPReader(interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, next), a, nil
	}))
	read := func(p []byte) {
		t.Helper()
		next = p
		buf := make([]byte, 1500)
		n, _, err := rd.Read(buf, nil)
		if err != nil || string(buf[:n]) != string(p) {
			t.Fatalf("read %x: %x, %v", p, buf[:n], err)
		}
	}
	nack, _ := (&rtcp.TransportLayerNack{MediaSSRC: 5, Nacks: []rtcp.NackPair{{PacketID: 3}}}).Marshal()
	read(nack)
	read([]byte{0x8f, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2}) // a truncated transport-cc feedback
	sr, _ := (&rtcp.SenderReport{SSRC: 77, NTPTime: 0x1234_5678_9abc_0000}).Marshal()
	read(sr)
	deadline := time.After(5 * time.Second)
	for {
		select {
		case v := <-lsr:
			if v == 0x5678_9abc {
				return
			}
		case <-deadline:
			t.Fatal("no receiver report echoing the sender report")
		}
	}
}
