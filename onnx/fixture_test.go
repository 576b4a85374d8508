package onnx

import (
	"fmt"
	"math"
	"nann/internal/numtest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fixtureNames are the networks onnx/testdata/make_fixtures.py writes.
var fixtureNames = []string{"reference", "din13", "din17", "cross", "ids"}

type fixture struct {
	name     string
	model    *Model
	users    map[string]*Tensor // user.<input>: [U, ...]
	item     string
	items    *Tensor // [N, ...]
	scores   *Tensor // torch float32, [U, N]
	scores64 *Tensor // torch float64, [U, N]
}

func loadFixture(t *testing.T, dir, name string) *fixture {
	t.Helper()
	m, err := ReadFile(filepath.Join(dir, name+".onnx"), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	arrs, err := ReadNPZ(filepath.Join(dir, name+".npz"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{name: name, model: m, users: map[string]*Tensor{}, scores: arrs["scores"], scores64: arrs["scores64"]}
	for k, v := range arrs {
		switch {
		case strings.HasPrefix(k, "user."):
			f.users[strings.TrimPrefix(k, "user.")] = v
		case strings.HasPrefix(k, "item."):
			f.item, f.items = strings.TrimPrefix(k, "item."), v
		}
	}
	if f.items == nil || f.scores == nil || f.scores64 == nil || len(f.users) == 0 {
		t.Fatalf("%s: fixture lacks arrays (have %d)", name, len(arrs))
	}
	return f
}

// row returns row u of a [U, ...] tensor repeated n times: [n, ...].
func repeatRow(x *Tensor, u, n int) *Tensor {
	w := x.Len() / x.Shape[0]
	out := &Tensor{DType: x.DType, Shape: append([]int{n}, x.Shape[1:]...), Data: make([]float64, n*w)}
	for i := 0; i < n; i++ {
		copy(out.Data[i*w:], x.Data[u*w:(u+1)*w])
	}
	return out
}

// interpretScores scores every item for user u with the interpreter.
func (f *fixture) interpretScores(t *testing.T, u int) []float64 {
	t.Helper()
	n := f.items.Shape[0]
	in := map[string]*Tensor{f.item: f.items}
	for k, v := range f.users {
		in[k] = repeatRow(v, u, n)
	}
	out, err := f.model.Graph.Run(in)
	if err != nil {
		t.Fatalf("%s: %v", f.name, err)
	}
	s := out[f.model.Graph.Outputs[0].Name]
	if s.Len() != n {
		t.Fatalf("%s: score has shape %v, want %d values", f.name, s.Shape, n)
	}
	return s.Data
}

func checkFixtures(t *testing.T, dir string) {
	for _, name := range fixtureNames {
		t.Run(name, func(t *testing.T) {
			f := loadFixture(t, dir, name)
			if err := f.model.Graph.InferShapes(); err != nil {
				t.Fatal(err)
			}
			n := f.items.Shape[0]
			worst32, worst64 := 0.0, 0.0
			for u := 0; u < f.scores.Shape[0]; u++ {
				got := f.interpretScores(t, u)
				worst32 = math.Max(worst32, numtest.RelErr(got, f.scores.Data[u*n:(u+1)*n]))
				worst64 = math.Max(worst64, numtest.RelErr(got, f.scores64.Data[u*n:(u+1)*n]))
			}
			t.Logf("%s: interpreter vs torch float32: max rel err %.2e; vs torch float64: %.2e", name, worst32, worst64)
			if worst32 > 1e-4 {
				t.Errorf("%s: interpreter vs torch float32: max rel err %.3g > 1e-4", name, worst32)
			}
			// Same weights, both in double precision; what is left is the
			// constants the exporter writes as float32 (GELU's √2, eps
			// attributes), about 1e-8 relative.
			if worst64 > 1e-6 {
				t.Errorf("%s: interpreter vs torch float64: max rel err %.3g > 1e-6", name, worst64)
			}
		})
	}
}

// TestInterpreterMatchesTorch checks the float64 interpreter against the
// committed torch scores of every fixture network.
func TestInterpreterMatchesTorch(t *testing.T) { checkFixtures(t, "testdata") }

// havePythonTorch reports whether /usr/bin/python3 imports torch and onnx.
func havePythonTorch() error {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		return err
	}
	out, err := exec.Command("/usr/bin/python3", "-c", "import torch, onnx").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// TestRegeneratedFixtures reruns make_fixtures.py into a temporary
// directory and checks the interpreter against torch's fresh scores.
func TestRegeneratedFixtures(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	if err := havePythonTorch(); err != nil {
		t.Skipf("/usr/bin/python3 with torch and onnx is not available (%v); checked against the committed fixtures only", err)
	}
	dir := t.TempDir()
	out, err := exec.Command("/usr/bin/python3", "testdata/make_fixtures.py", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("make_fixtures.py: %v\n%s", err, out)
	}
	checkFixtures(t, dir)
}
