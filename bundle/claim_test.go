package bundle

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// TestClaimTakesNextFreeVersion: when the version number an export picked
// is taken by the time its bundle is complete (here by an empty directory,
// which a plain rename would silently replace), an automatic version moves
// to the next free number with a rewritten manifest; an explicit one fails.
// Nothing at the taken name is touched.
func TestClaimTakesNextFreeVersion(t *testing.T) {
	modelDir := t.TempDir()
	taken := filepath.Join(modelDir, "1")
	if err := os.Mkdir(taken, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(modelDir, "2"), []byte("user's file"), 0o644); err != nil {
		t.Fatal(err)
	}
	stage := func() string {
		s, err := os.MkdirTemp(modelDir, ".export-*")
		if err != nil {
			t.Fatal(err)
		}
		makeBundle(t, s)
		return s
	}

	s := stage()
	m, err := ReadManifest(s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := claim(s, modelDir, m, false, slog.Default()); err == nil {
		t.Fatal("explicit version 1 claimed over an existing directory")
	}
	if _, err := os.Stat(filepath.Join(s, ManifestFile)); err != nil {
		t.Fatalf("failed claim lost its staging directory: %v", err)
	}

	final, err := claim(s, modelDir, m, true, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if final != filepath.Join(modelDir, "3") {
		t.Fatalf("claimed %s, want version 3 (1 is a directory, 2 a file)", final)
	}
	got, err := ReadManifest(final)
	if err != nil {
		t.Fatal(err)
	}
	if got.ModelVer != 3 || m.ModelVer != 3 {
		t.Errorf("manifest says version %d (returned %d), want 3", got.ModelVer, m.ModelVer)
	}
	if entries, err := os.ReadDir(taken); err != nil || len(entries) != 0 {
		t.Errorf("taken directory changed: %v %v", entries, err)
	}
	if b, err := os.ReadFile(filepath.Join(modelDir, "2")); err != nil || string(b) != "user's file" {
		t.Errorf("user's file changed: %q %v", b, err)
	}
}
