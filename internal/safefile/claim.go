//go:build unix

package safefile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ClaimLockName is the hidden lock file that RenameNoReplace creates in
// dst's directory when the file system cannot rename without replacing.
const ClaimLockName = ".nann-claim.lock"

// RenameNoReplace renames src to dst only if nothing exists at dst: not a
// file, not a link, not even an empty directory (which a plain os.Rename
// of a directory silently replaces on Linux). When dst exists the error
// wraps fs.ErrExist and neither path is changed. It is the atomic claim of
// a name: of several concurrent calls onto one dst exactly one succeeds.
// The parent directory is fsynced after a successful rename.
//
// On Linux it is renameat2(RENAME_NOREPLACE). Where that is unsupported
// (some file systems, other Unixes) it falls back to a rename under an
// exclusive flock of ClaimLockName in dst's directory: atomic against
// other RenameNoReplace callers, not against other programs.
func RenameNoReplace(src, dst string) error {
	err := renameNoReplace(src, dst)
	if err == errNoReplaceUnsupported {
		err = lockedRename(src, dst)
	}
	if err != nil {
		return err
	}
	return SyncDir(filepath.Dir(dst))
}

// lockedRename is RenameNoReplace under an exclusive flock of a lock file
// in dst's directory (released when the call returns or the process dies).
func lockedRename(src, dst string) error {
	lock, err := os.OpenFile(filepath.Join(filepath.Dir(dst), ClaimLockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("rename %s to %s: lock: %w", src, dst, err)
	}
	defer lock.Close()
	for {
		err = unix.Flock(int(lock.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("rename %s to %s: lock %s: %w", src, dst, lock.Name(), err)
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN)
	if _, err := os.Lstat(dst); err == nil {
		return &os.LinkError{Op: "rename", Old: src, New: dst, Err: fs.ErrExist}
	} else if !os.IsNotExist(err) {
		return fmt.Errorf("rename %s to %s: %w", src, dst, err)
	}
	return os.Rename(src, dst)
}
