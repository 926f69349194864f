package capture

import (
	"io"
	"syscall"
	"unsafe"
)

// readLocked reads from the pipe, the read itself under s.mu and marking
// what it read as held: to drained, bytes are then either still in the
// pipe or held, never in between.
func (s *stream) readLocked(buf []byte) (int, error) {
	rc, err := s.r.SyscallConn()
	if err != nil {
		return s.r.Read(buf)
	}
	var n int
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for {
			n, rerr = syscall.Read(int(fd), buf)
			if rerr != syscall.EINTR {
				break
			}
		}
		if n > 0 {
			s.held = true
		}
		return rerr != syscall.EAGAIN
	})
	switch {
	case err != nil: // a read deadline, or the pipe closed
		return 0, err
	case rerr != nil:
		return 0, rerr
	case n <= 0:
		return 0, io.EOF
	}
	return n, nil
}

// drained reports whether everything written to the stream has been
// handed to the sink: the pipe is empty and the pump holds nothing.
func (s *stream) drained() bool {
	rc, err := s.r.SyscallConn()
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held {
		return false
	}
	queued := -1
	err = rc.Control(func(fd uintptr) {
		var n int32
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n))); e == 0 {
			queued = int(n)
		}
	})
	return err == nil && queued == 0
}
