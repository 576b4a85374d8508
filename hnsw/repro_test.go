package hnsw

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// graphBytes is the graph's file encoding.
func graphBytes(t *testing.T, g *Graph) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "g.hnsw")
	if err := g.Write(p); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Same seed ⇒ same graph bytes, whatever the number of workers (builds
// with 2 workers used to differ from run to run).
func TestBuildReproducibleAcrossWorkers(t *testing.T) {
	x := Clustered(6000, 16, 40, 0.5, 3)
	var want []byte
	for _, workers := range []int{1, 2, 3, 2, 8} {
		cfg := DefaultConfig()
		cfg.M, cfg.Workers, cfg.Seed = 12, workers, 5
		g, err := Build(context.Background(), x, 16, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		b := graphBytes(t, g)
		if want == nil {
			want = b
			continue
		}
		if !bytes.Equal(b, want) {
			t.Fatalf("graph built with %d workers differs from the 1-worker graph", workers)
		}
	}
	cfg := DefaultConfig()
	cfg.M, cfg.Workers, cfg.Seed = 12, 2, 6
	g, _ := Build(context.Background(), x, 16, cfg, nil)
	if bytes.Equal(graphBytes(t, g), want) {
		t.Fatal("a different seed gave the same graph")
	}
}
