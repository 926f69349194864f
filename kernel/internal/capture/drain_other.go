//go:build !linux

package capture

func (s *stream) readLocked(buf []byte) (int, error) {
	n, err := s.r.Read(buf)
	if n > 0 {
		s.mu.Lock()
		s.held = true
		s.mu.Unlock()
	}
	return n, err
}

// drained is false: without a count of the pipe's bytes, Sync always
// sends a marker.
func (s *stream) drained() bool { return false }
