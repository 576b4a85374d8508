package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"nann/internal/safefile"
	"nann/serving"
)

// VersionSwitcher makes a model server that polls its base path switch
// versions: each Switch publishes a clone of the newest version directory
// as version newest+1 (files hard-linked, or copied where links fail),
// staged under a dot-name the server ignores and renamed into place, so
// the server never sees a half-written version.
type VersionSwitcher struct {
	// Base is the model base path the server polls.
	Base string
	// Keep is how many of the versions this switcher created stay on disk
	// (older ones are removed after each switch); default 2, which suits
	// servers keeping one or two versions loaded.
	Keep int

	mu      sync.Mutex
	created []string
}

// NewVersionSwitcher checks that base holds at least one version.
func NewVersionSwitcher(base string) (*VersionSwitcher, error) {
	vs, err := serving.ListVersions(base)
	if err != nil {
		return nil, fmt.Errorf("version switcher: %w", err)
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("version switcher: %s holds no numeric version directory", base)
	}
	return &VersionSwitcher{Base: base, Keep: 2}, nil
}

// Switch publishes the next version. It matches Config.Switch.
func (s *VersionSwitcher) Switch(ctx context.Context, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	vs, err := serving.ListVersions(s.Base)
	if err != nil {
		return fmt.Errorf("switch %d: %w", n, err)
	}
	if len(vs) == 0 {
		return fmt.Errorf("switch %d: %s holds no version", n, s.Base)
	}
	newest := vs[0]
	src := filepath.Join(s.Base, strconv.FormatInt(newest, 10))
	dst := filepath.Join(s.Base, strconv.FormatInt(newest+1, 10))
	staging := filepath.Join(s.Base, fmt.Sprintf(".nann-bench-%d.tmp", newest+1))
	if err := os.RemoveAll(staging); err != nil {
		return fmt.Errorf("switch %d: %w", n, err)
	}
	if err := cloneTree(ctx, src, staging); err != nil {
		os.RemoveAll(staging)
		return fmt.Errorf("switch %d: clone %s: %w", n, src, err)
	}
	if err := os.Rename(staging, dst); err != nil {
		os.RemoveAll(staging)
		return fmt.Errorf("switch %d: publish %s: %w", n, dst, err)
	}
	if err := safefile.SyncDir(s.Base); err != nil {
		return fmt.Errorf("switch %d: %w", n, err)
	}
	s.created = append(s.created, dst)
	return s.prune(max(s.Keep, 1))
}

// prune removes all but the keep newest created versions, oldest first.
func (s *VersionSwitcher) prune(keep int) error {
	var errs []error
	for len(s.created) > keep {
		errs = append(errs, os.RemoveAll(s.created[0]))
		s.created = s.created[1:]
	}
	return errors.Join(errs...)
}

// Cleanup removes every version this switcher created, oldest first, so
// the server goes back to the original version once.
func (s *VersionSwitcher) Cleanup() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.prune(0)
}

// cloneTree recreates src at dst with hard links (copies where linking
// fails, e.g. across file systems).
func cloneTree(ctx context.Context, src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.Mkdir(out, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, out)
		case d.Type().IsRegular():
			if os.Link(p, out) == nil {
				return nil
			}
			return copyFile(p, out)
		}
		return fmt.Errorf("%s: unsupported file type %v", p, d.Type())
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
