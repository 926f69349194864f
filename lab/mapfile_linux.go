//go:build linux

package lab

import (
	"fmt"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"unsafe"
)

// Mapping a file is only safe while nobody truncates or rewrites it: a page
// of a mapping past the end of its file raises SIGBUS, which kills a Go
// process. So a batch file is mapped only under a read lease (fcntl
// F_SETLEASE): the kernel then holds back anyone who opens the file for
// writing or truncates it, and signals us (SIGIO) first. We answer by moving
// the pixels into private memory (copy, then mremap the copy over the
// mapping, so readers never see a gap) and releasing the lease; only then
// does the writer go on. The kernel waits /proc/sys/fs/lease-break-time
// seconds (45 by default) for that; copying 30 MB takes milliseconds.
//
// A lease needs a local file system and the file's owner (or CAP_LEASE).
// Without one, a file on a read-only mount is still mapped (nobody on this
// host can write it through that mount); anything else is read into
// private memory, as on platforms without mmap.

const (
	mremapMayMove = 1
	mremapFixed   = 2
	statfsRdOnly  = 1 // ST_RDONLY
)

// mappedFile is one file mapped read-only.
type mappedFile struct {
	path string
	f    *os.File // kept open: the lease lives on it
	data []byte
	key  fileKey

	mu      sync.Mutex
	leased  bool // under a read lease; false once made private
	private bool // the pixels were moved to private memory
}

var (
	leaseMu     sync.Mutex
	leased      []*mappedFile
	leaseSignal sync.Once

	// takeLease asks for a read lease on f; tests replace it.
	takeLease = func(f *os.File) error {
		_, err := fcntl(f, syscall.F_SETLEASE, syscall.F_RDLCK)
		return err
	}
)

func fcntl(f *os.File, cmd, arg int) (int, error) {
	var r uintptr
	var errno syscall.Errno
	err := withFd(f, func(fd uintptr) {
		r, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, uintptr(cmd), uintptr(arg))
	})
	if err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

func withFd(f *os.File, fn func(fd uintptr)) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Control(fn)
}

// mapShared maps the open file f of size bytes read-only. It returns a
// reason, and no mapping, when the file cannot be mapped safely.
func mapShared(f *os.File, size int, key fileKey) (*mappedFile, string) {
	leaseSignal.Do(watchLeases)
	leaseErr := takeLease(f)
	if leaseErr != nil {
		var st syscall.Statfs_t
		if err := syscall.Fstatfs(int(f.Fd()), &st); err != nil || st.Flags&statfsRdOnly == 0 {
			return nil, fmt.Sprintf("no read lease on %s (%v), so a change to the file could crash a mapping", f.Name(), leaseErr)
		}
	}
	var data []byte
	var err error
	if werr := withFd(f, func(fd uintptr) {
		data, err = syscall.Mmap(int(fd), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	}); werr != nil {
		err = werr
	}
	if err != nil {
		if leaseErr == nil {
			fcntl(f, syscall.F_SETLEASE, syscall.F_UNLCK)
		}
		return nil, fmt.Sprintf("mmap %s: %v", f.Name(), err)
	}
	m := &mappedFile{path: f.Name(), f: f, data: data, key: key, leased: leaseErr == nil}
	if m.leased {
		leaseMu.Lock()
		leased = append(leased, m)
		leaseMu.Unlock()
	}
	return m, ""
}

// watchLeases starts the goroutine that answers lease breaks.
func watchLeases() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGIO)
	go func() {
		for range c {
			breakLeases()
		}
	}()
}

// breakLeases makes private every mapping whose lease is being broken and
// gives up its lease.
func breakLeases() {
	leaseMu.Lock()
	list := append([]*mappedFile(nil), leased...)
	leaseMu.Unlock()
	for _, m := range list {
		m.mu.Lock()
		if m.leased {
			// While a break is pending, F_GETLEASE reports the type the
			// lease is being broken to (F_UNLCK for a read lease).
			if t, err := fcntl(m.f, syscall.F_GETLEASE, 0); err != nil || t != syscall.F_RDLCK {
				m.makePrivate()
			}
		}
		m.mu.Unlock()
	}
	leaseMu.Lock()
	kept := leased[:0]
	for _, m := range leased {
		if m.leased {
			kept = append(kept, m)
		}
	}
	leased = kept
	leaseMu.Unlock()
}

// makePrivate copies the mapping into anonymous memory and moves the copy
// over it in one mremap, then releases the lease: readers of the pixels see
// the same bytes before, during and after. m.mu is held.
func (m *mappedFile) makePrivate() {
	n := len(m.data)
	anon, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err == nil {
		copy(anon, m.data)
		if err = syscall.Mprotect(anon, syscall.PROT_READ); err == nil {
			_, _, errno := syscall.Syscall6(syscall.SYS_MREMAP, uintptr(unsafe.Pointer(&anon[0])), uintptr(n), uintptr(n),
				mremapMayMove|mremapFixed, uintptr(unsafe.Pointer(&m.data[0])), 0)
			if errno != 0 {
				err = errno
			}
		}
	}
	if err != nil {
		// Keep the lease: the writer waits for the kernel's lease-break
		// time, and this process keeps its mapping intact until then.
		fmt.Fprintf(os.Stderr, "golab: %s is being changed, and copying its pixels to private memory failed (%v)\n", m.path, err)
		return
	}
	m.private = true
	m.leased = false
	fcntl(m.f, syscall.F_SETLEASE, syscall.F_UNLCK)
	m.f.Close()
	fmt.Fprintf(os.Stderr, "golab: %s is being opened for writing or truncated; this process keeps the images it loaded, now in private memory (%d MB)\n", m.path, n>>20)
}

// shared reports whether the mapping still shares the file's pages.
func (m *mappedFile) shared() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.private
}

const canMap = true

// release unmaps a mapping nobody uses yet (its file failed a check).
func (m *mappedFile) release() {
	leaseMu.Lock()
	if i := slices.Index(leased, m); i >= 0 {
		leased = slices.Delete(leased, i, i+1)
	}
	leaseMu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.leased {
		fcntl(m.f, syscall.F_SETLEASE, syscall.F_UNLCK)
		m.leased = false
	}
	syscall.Munmap(m.data)
	m.f.Close()
}
