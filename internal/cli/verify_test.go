package cli

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A flipped in-range byte of sequences.bin used to train with exit 0:
// train (and extract) check the dataset's checksums by default, and
// --no-verify skips them.
func TestTrainVerifiesDataset(t *testing.T) {
	dir := t.TempDir()
	csv, data := filepath.Join(dir, "ub.csv"), filepath.Join(dir, "data")
	if _, e, c := runMain(t, "synth", "--preset", "tiny", "--users", "300", "--items", "500", "--out", csv); c != 0 {
		t.Fatalf("synth: %s", e)
	}
	if _, e, c := runMain(t, "prepare", "--out", data, csv); c != 0 {
		t.Fatalf("prepare: %s", e)
	}
	seq := filepath.Join(data, "sequences.bin")
	b, err := os.ReadFile(seq)
	if err != nil {
		t.Fatal(err)
	}
	users := int(binary.LittleEndian.Uint64(b[16:]))
	at := 64 + (users+1)*8 // items[0], a dense id in 1..NumItems
	v := binary.LittleEndian.Uint32(b[at:])
	binary.LittleEndian.PutUint32(b[at:], v%2+1) // another valid id
	if err := os.WriteFile(seq, b, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"train", "--data", data, "--batch", "16", "--negatives", "4", "--max-steps", "1", "--replicas", "1", "--eval-users", "5"}
	if _, e, c := runMain(t, append(args, "--run", filepath.Join(dir, "run1"))...); c == 0 || !strings.Contains(e, "checksum") || !strings.Contains(e, "sequences.bin") {
		t.Fatalf("train on a corrupt dataset: exit %d, %s", c, e)
	}
	if _, e, c := runMain(t, append(args, "--run", filepath.Join(dir, "run2"), "--no-verify")...); c != 0 {
		t.Fatalf("train --no-verify: exit %d, %s", c, e)
	}
}
