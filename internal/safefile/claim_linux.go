package safefile

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

var errNoReplaceUnsupported = errors.New("renameat2 RENAME_NOREPLACE unsupported")

func renameNoReplace(src, dst string) error {
	err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.RENAME_NOREPLACE)
	switch err {
	case nil:
		return nil
	case unix.EINVAL, unix.ENOSYS, unix.ENOTSUP:
		return errNoReplaceUnsupported
	}
	return &os.LinkError{Op: "rename", Old: src, New: dst, Err: err}
}
