// Package safefile writes files so that a reader never sees a half-written
// one: data goes to a temporary name in the same directory, is fsynced, and
// is then renamed over the target, after which the directory is fsynced.
//
// Every temporary it creates for a target named BASE is hidden and named
// ".BASE.nann-TAG-DIGITS" (TAG is tmp, staging or old; DIGITS is the random
// suffix os.CreateTemp / os.MkdirTemp add), and is locked (flock) while the
// process that made it uses it. CleanStale removes the unlocked ones that an
// interrupted run left behind; nothing else is ever matched.
package safefile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Tags of our temporary names (see the package comment).
const (
	tagTmp     = "tmp"
	tagStaging = "staging"
	tagOld     = "old"
)

// pattern is the os.CreateTemp / os.MkdirTemp pattern of a temporary for
// the target base.
func pattern(base, tag string) string { return "." + base + ".nann-" + tag + "-*" }

// Write creates path atomically with the bytes that fill writes to its
// buffered writer. If fill returns an error, the temporary file is removed
// and path is left as it was. path must not be a directory.
func Write(path string, fill func(w io.Writer) error) (err error) {
	if st, err := os.Lstat(path); err == nil && st.IsDir() {
		return fmt.Errorf("write %s: is a directory; refusing to replace it with a file", path)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, pattern(filepath.Base(path), tagTmp))
	if err != nil {
		return fmt.Errorf("create temp for %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// Held until Close: CleanStale leaves a locked temporary alone.
	if err = lock(tmp); err != nil {
		return fmt.Errorf("lock %s: %w", tmp.Name(), err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err = fill(bw); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename into %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return SyncDir(dir)
}

// WriteBytes is Write for a byte slice already in memory.
func WriteBytes(path string, b []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// SyncDir fsyncs a directory so that renames inside it are durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}

// lock takes an exclusive flock on f without waiting.
func lock(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err != unix.EINTR {
			return err
		}
	}
}

// Staging is a hidden directory beside a target directory, locked while
// it is filled; Commit moves it into place.
type Staging struct {
	// Path is the staging directory to write into.
	Path string
	dst  string
	f    *os.File
	done bool
}

// NewStaging creates a staging directory for dst (creating dst's parent if
// needed). The caller fills Path and calls Commit, or Abort to discard it;
// calling Abort after Commit is a no-op, so `defer s.Abort()` is safe.
func NewStaging(dst string) (*Staging, error) {
	dst = filepath.Clean(dst)
	parent := filepath.Dir(dst)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	p, err := os.MkdirTemp(parent, pattern(filepath.Base(dst), tagStaging))
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err == nil {
		if err = lock(f); err != nil {
			f.Close()
		}
	}
	if err != nil {
		os.RemoveAll(p)
		return nil, fmt.Errorf("lock staging directory %s: %w", p, err)
	}
	return &Staging{Path: p, dst: dst, f: f}, nil
}

// Commit replaces the target with the staging directory (ReplaceDir).
func (s *Staging) Commit() error {
	if s.done {
		return errors.New("safefile: staging directory already committed or aborted")
	}
	err := ReplaceDir(s.Path, s.dst)
	if err == nil {
		s.done = true
		s.f.Close()
	}
	return err
}

// Release ends the staging without moving or removing the directory, for a
// caller that moved Path into place itself (for example with
// RenameNoReplace, which must not replace an existing target).
func (s *Staging) Release() {
	if s.done {
		return
	}
	s.done = true
	s.f.Close()
}

// Abort removes the staging directory unless it was committed.
func (s *Staging) Abort() {
	if s.done {
		return
	}
	s.done = true
	os.RemoveAll(s.Path)
	s.f.Close()
}

// ReplaceDir atomically moves a fully written staging directory to dst.
// An existing dst (which must be a directory) is first moved aside to a
// fresh hidden name of our own and removed after the swap, so at every
// moment dst is either the old complete directory or the new one (or
// absent, between the two renames, which readers treat as "not built"). If
// the swap fails, the old directory is moved back.
func ReplaceDir(staging, dst string) error {
	dst = filepath.Clean(dst)
	if err := os.Chmod(staging, 0o755); err != nil {
		return fmt.Errorf("chmod %s: %w", staging, err)
	}
	if err := SyncDir(staging); err != nil {
		return err
	}
	parent := filepath.Dir(dst)
	st, err := os.Lstat(dst)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.Rename(staging, dst); err != nil {
			return fmt.Errorf("rename %s into %s: %w", staging, dst, err)
		}
		return SyncDir(parent)
	case err != nil:
		return fmt.Errorf("replace %s: %w", dst, err)
	case !st.IsDir():
		return fmt.Errorf("replace %s: exists and is not a directory; refusing to replace it", dst)
	}
	// Lock the old directory (the lock follows it through the rename) so
	// that CleanStale never takes it for an abandoned backup.
	oldF, err := os.Open(dst)
	if err != nil {
		return fmt.Errorf("replace %s: %w", dst, err)
	}
	defer oldF.Close()
	if err := unix.Flock(int(oldF.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", dst, err)
	}
	// A fresh empty directory reserves a unique name; renaming a directory
	// over an empty one replaces it atomically (POSIX rename(2); os.Rename
	// refuses an existing directory as the target, hence unix.Rename).
	old, err := os.MkdirTemp(parent, pattern(filepath.Base(dst), tagOld))
	if err != nil {
		return fmt.Errorf("replace %s: %w", dst, err)
	}
	if err := unix.Rename(dst, old); err != nil {
		os.Remove(old)
		return fmt.Errorf("move aside %s: %w", dst, err)
	}
	if err := os.Rename(staging, dst); err != nil {
		if err2 := os.Rename(old, dst); err2 != nil {
			return fmt.Errorf("rename %s into %s: %w (and the old directory stays at %s: %v)", staging, dst, err, old, err2)
		}
		return fmt.Errorf("rename %s into %s: %w", staging, dst, err)
	}
	if err := SyncDir(parent); err != nil {
		return err
	}
	return os.RemoveAll(old)
}
