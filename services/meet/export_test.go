package meet

import "time"

// Advance moves the service's clock forward (expiry tests, no sleeping).
func Advance(s *Service, d time.Duration) { s.skew.Add(int64(d)) }
