package sfu

import (
	"encoding/binary"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
)

// RTCP reports: pion's receiver-report interceptor for what publishers
// send, shown only the RTCP it has a use for (srOnly). Sender reports for
// what the SFU sends are its own (senderReports): pion's sender-report
// interceptor took a lock and read the clock for every packet written to
// every subscriber.
func registerReports(ir *interceptor.Registry) error {
	recv, err := report.NewReceiverInterceptor()
	if err != nil {
		return err
	}
	ir.Add(srOnlyFactory{recv})
	return nil
}

// srOnlyFactory wraps pion's receiver-report interceptor, which reads
// only publishers' sender reports from the RTCP of a connection but
// decoded every RTCP packet of every connection into allocated structs
// to find them — each subscriber's transport-cc feedback ten times a
// second, its receiver reports and NACKs — and failed the reader on a
// packet it could not decode. It now sees compound packets holding a
// sender report, and nothing else.
type srOnlyFactory struct{ f interceptor.Factory }

func (s srOnlyFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	i, err := s.f.NewInterceptor(id)
	if err != nil {
		return nil, err
	}
	return &srOnly{Interceptor: i}, nil
}

type srOnly struct{ interceptor.Interceptor }

// BindRTCPReader: the reads of one reader are sequential (one goroutine
// reads each sender's or receiver's RTCP), so the packet just read can be
// handed to pion's reader through n and attrs.
func (s *srOnly) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	var n int
	var attrs interceptor.Attributes
	inner := s.Interceptor.BindRTCPReader(interceptor.RTCPReaderFunc(func([]byte, interceptor.Attributes) (int, interceptor.Attributes, error) {
		return n, attrs, nil // the caller's buffer already holds the packet
	}))
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		m, a, err := r.Read(b, a)
		if err != nil || !hasSenderReport(b[:m]) {
			return m, a, err
		}
		n, attrs = m, a
		return inner.Read(b, a)
	})
}

// hasSenderReport walks a compound RTCP packet's headers in place.
func hasSenderReport(b []byte) bool {
	for len(b) >= 4 {
		size := (int(binary.BigEndian.Uint16(b[2:4])) + 1) * 4
		if b[0]>>6 != 2 || size > len(b) {
			return false
		}
		if b[1] == 200 {
			return true
		}
		b = b[size:]
	}
	return false
}
