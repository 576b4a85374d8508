package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// legacyAge is how old a temporary named as earlier versions named them
// (".BASE.staging-DIGITS", ".BASE.tmp-DIGITS", unlocked) must be before
// CleanStale takes it for abandoned.
const legacyAge = time.Hour

// freshAge is how old an unlocked temporary of today's naming must be
// before CleanStale takes it for abandoned: its creator takes the lock
// just after creating it (os.MkdirTemp / os.CreateTemp, then flock), and a
// cleaner running in that instant must not remove it from under the
// creator (two concurrent exports into one model directory did).
const freshAge = time.Minute

// CleanStale removes from dir the temporaries of our own naming for the
// target base (any target if base is "") that no running process holds:
// staging directories, moved-aside old directories and temporary files an
// interrupted run left behind. Each removal is logged on log. Nothing whose
// name is not unambiguously ours is touched. It returns the paths removed.
func CleanStale(dir, base string, log *slog.Logger) ([]string, error) {
	if log == nil {
		log = slog.Default()
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("clean stale temporaries in %s: %w", dir, err)
	}
	var removed []string
	var errs []error
	for _, e := range ents {
		ok, legacy := matchOurs(e.Name(), base)
		if !ok || !(e.Type().IsRegular() || e.IsDir()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		minAge := freshAge
		if legacy {
			minAge = legacyAge
		}
		if info, err := e.Info(); err != nil || time.Since(info.ModTime()) < minAge {
			continue
		}
		gone, size, err := removeUnlocked(p, e.IsDir())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if gone {
			log.Info("removed a stale temporary left by an interrupted run", "path", p, "bytes", size)
			removed = append(removed, p)
		}
	}
	return removed, errors.Join(errs...)
}

// removeUnlocked removes p if no process holds its lock.
func removeUnlocked(p string, isDir bool) (bool, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, 0, nil
		}
		return false, 0, err
	}
	defer f.Close()
	if err := lock(f); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return false, 0, nil // in use
		}
		return false, 0, fmt.Errorf("lock %s: %w", p, err)
	}
	// The name may have been renamed onto another (locked) inode since we
	// opened it (ReplaceDir renames onto a reserved empty directory).
	if held, err := f.Stat(); err != nil {
		return false, 0, err
	} else if now, err := os.Lstat(p); err != nil || !os.SameFile(held, now) {
		return false, 0, nil
	}
	size := treeSize(p)
	if isDir {
		err = os.RemoveAll(p)
	} else {
		err = os.Remove(p)
	}
	if err != nil {
		return false, 0, fmt.Errorf("remove stale %s: %w", p, err)
	}
	return true, size, nil
}

func treeSize(p string) int64 {
	var n int64
	filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
