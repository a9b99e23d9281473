package meet

import "time"

// Advance moves the service's clock forward (expiry tests, no sleeping).
func Advance(s *Service, d time.Duration) { s.skew.Add(int64(d)) }

// Crash stops s as a crash would for the cluster: its heartbeats stop but
// its node record and room keys stay in Redis until they expire.
func Crash(s *Service) {
	if h, ok := s.place.(interface{ Halt() }); ok {
		h.Halt()
	}
	_ = s.Close()
}
