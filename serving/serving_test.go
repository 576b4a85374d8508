package serving

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestListVersions(t *testing.T) {
	base := t.TempDir()
	for _, d := range []string{"1", "10", "2", "x", "-3", ".7.tmp", "007"} {
		if err := os.Mkdir(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(base, "5"), nil, 0o644); err != nil { // a file, not a version
		t.Fatal(err)
	}
	vs, err := ListVersions(base)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{10, 7, 2, 1}; !slices.Equal(vs, want) {
		t.Errorf("versions %v, want %v (numeric directories, newest first)", vs, want)
	}
	if _, err := ListVersions(filepath.Join(base, "missing")); err == nil {
		t.Error("a missing base path listed without error")
	}
}

func TestSignatureValidate(t *testing.T) {
	ok := Signature{CommSeqLen: 3200, SeqLen: 50, K: 10, DefaultLevelTopN: [6]int32{1, 2, 3, 4, 5, 6}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid signature: %v", err)
	}
	bad := Signature{DefaultLevelTopN: [6]int32{1, 0, 1, 1, 1, -1}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("zero signature accepted")
	}
	for _, want := range []string{"CommSeqLen 0", "SeqLen 0", "K 0", "default level_topn[1] = 0 < 1", "default level_topn[5] = -1 < 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not report %q", err, want)
		}
	}
}
