//go:build unix

package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestRenameNoReplace checks that a claim never replaces what is at dst,
// an empty directory included (a plain os.Rename would), and that of
// several concurrent claims of one name exactly one wins; both for
// renameat2 and for the flock fallback.
func TestRenameNoReplace(t *testing.T) {
	for name, rename := range map[string]func(src, dst string) error{"renameat2": RenameNoReplace, "flock": lockedRename} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "staging")
			if err := os.Mkdir(src, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(src, "f"), []byte("new"), 0o644); err != nil {
				t.Fatal(err)
			}
			emptyDir, file := filepath.Join(dir, "1"), filepath.Join(dir, "2")
			if err := os.Mkdir(emptyDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, []byte("user's"), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, dst := range []string{emptyDir, file} {
				if err := rename(src, dst); !errors.Is(err, fs.ErrExist) {
					t.Errorf("rename onto existing %s: %v, want fs.ErrExist", dst, err)
				}
			}
			if entries, err := os.ReadDir(emptyDir); err != nil || len(entries) != 0 {
				t.Errorf("empty directory changed: %v %v", entries, err)
			}
			if b, err := os.ReadFile(file); err != nil || string(b) != "user's" {
				t.Errorf("file changed: %q %v", b, err)
			}
			dst := filepath.Join(dir, "3")
			if err := rename(src, dst); err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(filepath.Join(dst, "f")); err != nil || string(b) != "new" {
				t.Fatalf("renamed directory: %q %v", b, err)
			}

			// Concurrent claims of one name: exactly one wins, the others'
			// sources stay where they were.
			const n = 8
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				s := filepath.Join(dir, fmt.Sprintf("s%d", i))
				if err := os.Mkdir(s, 0o755); err != nil {
					t.Fatal(err)
				}
				wg.Add(1)
				go func() { defer wg.Done(); errs[i] = rename(s, filepath.Join(dir, "4")) }()
			}
			wg.Wait()
			won := 0
			for i, err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, fs.ErrExist):
					t.Errorf("claim %d: %v", i, err)
				default:
					if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("s%d", i))); err != nil {
						t.Errorf("losing claim %d lost its source: %v", i, err)
					}
				}
			}
			if won != 1 {
				t.Errorf("%d of %d concurrent claims won, want 1", won, n)
			}
		})
	}
}
