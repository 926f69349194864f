package capture

import "syscall"

// redirect makes fd refer to the same file as from.
func redirect(from, fd int) error { return syscall.Dup3(from, fd, 0) }
