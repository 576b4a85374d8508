package bundle

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"nann/internal/onnxtest"
	"nann/onnx"
	"nann/serving"
)

// fixtureRequest is the request of every user of a fixture: one named
// tensor per user input, the batch the fixture's users.
func fixtureRequest(t *testing.T, arrs map[string]*onnx.Tensor, sig serving.Signature, topn [6]int32) *serving.Request {
	t.Helper()
	r := &serving.Request{Inputs: map[string]*serving.Tensor{}, LevelTopN: topn}
	for _, in := range sig.Inputs {
		x := arrs["user."+in.Name]
		if x == nil {
			t.Fatalf("fixture has no array for %q", in.Name)
		}
		r.Inputs[in.Name], r.Batch = onnxtest.RequestTensor(x, in.DType.IsFloat()), x.Shape[0]
	}
	return r
}

// loadImported imports o and loads the version through bundle.Load, as the
// server does; the servable is closed when the test ends.
func loadImported(t *testing.T, o ImportOptions) (*ONNXServable, *ONNXManifest) {
	t.Helper()
	ctx := context.Background()
	dir, m := mustImport(t, o)
	sv, err := Load(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sv.Close() })
	return sv.(*ONNXServable), m
}

// TestONNXServablePredict: an imported bundle loads through bundle.Load;
// its signature lists the ONNX inputs; a beam wide enough to score every
// item answers torch's ranking with torch's scores; a narrow beam answers
// a sorted subset with fewer items scored; bad inputs are refused as
// invalid input naming the tensor.
func TestONNXServablePredict(t *testing.T) {
	ctx := context.Background()
	for _, fx := range []string{"din17", "reference", "ids"} {
		t.Run(fx, func(t *testing.T) {
			o, arrs := onnxFixture(t, fx)
			if fx == "ids" { // raw history ids, the embeddings inside the graph
				o, arrs = idsFixture(t)
			}
			s, m := loadImported(t, o)
			sig := s.Signature()
			if err := sig.Validate(); err != nil {
				t.Fatal(err)
			}
			if len(sig.Inputs) != len(m.Contract.UserInputs) || sig.K != 200 || sig.DefaultLevelTopN != [6]int32{100, 200, 200, 200, 200, 200} {
				t.Fatalf("signature %+v", sig)
			}
			for i, in := range sig.Inputs {
				want := m.Contract.UserInputs[i]
				if in.Name != want.Name || in.DType.String() != want.DType || in.Shape[0] != -1 || len(in.Shape) != len(want.Shape) {
					t.Fatalf("signature input %+v, manifest %+v", in, want)
				}
				for j := 1; j < len(in.Shape); j++ {
					if in.Shape[j] != int64(want.Shape[j]) {
						t.Fatalf("signature input %+v, manifest %+v", in, want)
					}
				}
			}
			scores := arrs["scores"]
			n := scores.Shape[1]
			wide := fixtureRequest(t, arrs, sig, [6]int32{200, 200, 200, 200, 200, 200})
			resp, err := s.Predict(ctx, wide)
			if err != nil {
				t.Fatal(err)
			}
			for u := range wide.Batch {
				if resp.ItemsScored[u] != n || len(resp.TopK[u]) != n {
					t.Fatalf("user %d: %d items scored, %d answered; want all %d", u, resp.ItemsScored[u], len(resp.TopK[u]), n)
				}
				ref := scores.Data[u*n : (u+1)*n]
				order := make([]int, n)
				for i := range order {
					order[i] = i
				}
				sort.SliceStable(order, func(a, b int) bool { return ref[order[a]] > ref[order[b]] })
				for i, id := range resp.TopK[u] {
					row, ok := s.ItemRow(id)
					if !ok {
						t.Fatalf("user %d: answered unknown id %d", u, id)
					}
					if d := math.Abs(float64(resp.Scores[u][i]) - ref[row]); d > 1e-4*math.Max(1, math.Abs(ref[row])) {
						t.Fatalf("user %d rank %d: id %d scored %g, torch %g", u, i, id, resp.Scores[u][i], ref[row])
					}
					if i > 0 && resp.Scores[u][i] > resp.Scores[u][i-1] {
						t.Fatalf("user %d: answer not sorted at %d", u, i)
					}
				}
				for i := 0; i < 10; i++ { // the head of torch's ranking (no near-ties there in the fixtures)
					if want := s.Bundle().ItemIDs[order[i]]; resp.TopK[u][i] != want && math.Abs(ref[order[i]]-ref[order[min(i+1, n-1)]]) > 1e-4 {
						t.Fatalf("user %d rank %d: id %d, torch's %d", u, i, resp.TopK[u][i], want)
					}
				}
			}
			narrow := fixtureRequest(t, arrs, sig, [6]int32{5, 10, 10, 10, 10, 10})
			resp2, err := s.Predict(ctx, narrow)
			if err != nil {
				t.Fatal(err)
			}
			for u := range narrow.Batch {
				if len(resp2.TopK[u]) != 10 || resp2.ItemsScored[u] >= n || resp2.ItemsScored[u] < 10 {
					t.Fatalf("narrow beam, user %d: %d answered, %d scored", u, len(resp2.TopK[u]), resp2.ItemsScored[u])
				}
			}
			// Deterministic: the same request, the same answer.
			again, err := s.Predict(ctx, fixtureRequest(t, arrs, sig, [6]int32{5, 10, 10, 10, 10, 10}))
			if err != nil || !slices.Equal(again.TopK[0], resp2.TopK[0]) || !slices.Equal(again.Scores[0], resp2.Scores[0]) {
				t.Fatalf("second call differs: %v", err)
			}
			if ids := s.Bundle().ItemIDs; !s.KnownItemID(ids[0]) || !s.KnownItemID(ids[199]) || s.KnownItemID(slices.Max(ids)+1) || s.KnownItemID(-1) {
				t.Error("KnownItemID disagrees with the imported ids")
			}
			first := sig.Inputs[0].Name
			for _, tc := range []struct {
				name string
				mod  func(r *serving.Request)
				want []string
			}{
				{"missing input", func(r *serving.Request) { delete(r.Inputs, first) }, []string{first, "missing"}},
				{"wrong shape", func(r *serving.Request) { r.Inputs[first].Shape[1]++ }, []string{first, "shape"}},
				{"NaN or an id outside the graph's table", func(r *serving.Request) {
					if x := r.Inputs[first]; x.Floats != nil {
						x.Floats[7] = float32(math.NaN())
					} else {
						x.Ints[7] = 1 << 40
					}
				}, []string{first}},
				{"extra input", func(r *serving.Request) { r.Inputs["nope"] = r.Inputs[first] }, []string{`"nope"`, "not an input"}},
				{"reference inputs", func(r *serving.Request) { r.Inputs = nil; r.CommSeq = make([]float32, 4) }, []string{"named inputs", first}},
				{"level_topn beyond the corpus", func(r *serving.Request) { r.LevelTopN[2] = 201 }, []string{"level_topn", "201"}},
			} {
				r := fixtureRequest(t, arrs, sig, sig.DefaultLevelTopN)
				tc.mod(r)
				_, err := s.Predict(ctx, r)
				if !errors.Is(err, serving.ErrInvalidInput) {
					t.Errorf("%s: %v, want invalid input", tc.name, err)
					continue
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s: error %q does not name %q", tc.name, err, w)
					}
				}
			}
		})
	}
}

// TestLoadDispatchesOnFormat: an edited imported manifest is refused by
// the imported-bundle reader (its checksum), a directory without a
// manifest by naming the file.
func TestLoadDispatchesOnFormat(t *testing.T) {
	ctx := context.Background()
	o, _ := onnxFixture(t, "cross")
	dir, _ := mustImport(t, o)
	path := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(b), `"num_items": 200`, `"num_items": 201`, 1)
	if edited == string(b) {
		t.Fatal("manifest has no num_items 200")
	}
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ctx, dir); err == nil || !strings.Contains(err.Error(), "manifest_sha256") {
		t.Fatalf("edited imported manifest: %v", err)
	}
	if _, err := Load(ctx, t.TempDir()); err == nil || !strings.Contains(err.Error(), ManifestFile) {
		t.Fatalf("empty directory: %v", err)
	}
}

// TestONNXServableFilters: exclude_item_ids and the server's blocklist
// are applied inside retrieval: the excluded items — the head of each
// user's unfiltered answer — never come back, answers stay full, and the
// rest is the unfiltered answer without them (a beam wide enough to score
// every item); the filters an imported model cannot apply are refused.
func TestONNXServableFilters(t *testing.T) {
	ctx := context.Background()
	o, arrs := onnxFixture(t, "din17")
	s, _ := loadImported(t, o)
	sig := s.Signature()
	if sig.Filters != serving.FilterItems || !s.ExcludesBlockedItems() {
		t.Fatalf("filters %v, excludes blocked %v", sig.Filters, s.ExcludesBlockedItems())
	}
	topn := [6]int32{200, 200, 200, 200, 200, 50}
	plain, err := s.Predict(ctx, fixtureRequest(t, arrs, sig, topn))
	if err != nil {
		t.Fatal(err)
	}
	r := fixtureRequest(t, arrs, sig, topn)
	r.Filter = &serving.Filter{ExcludeItemIDs: make([][]int64, r.Batch)}
	excluded := make([]map[int64]bool, r.Batch)
	blocked := plain.TopK[0][1] // the second-best item of user 0, blocked for all
	r.Blocked = serving.NewItemSet([]int64{blocked, 1 << 50})
	for u := range r.Batch {
		excluded[u] = map[int64]bool{blocked: true}
		for _, id := range plain.TopK[u][:3] {
			r.Filter.ExcludeItemIDs[u] = append(r.Filter.ExcludeItemIDs[u], id)
			excluded[u][id] = true
		}
		r.Filter.ExcludeItemIDs[u] = append(r.Filter.ExcludeItemIDs[u], 0, -5) // padding, unknown
	}
	got, err := s.Predict(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	for u := range r.Batch {
		var want []int64
		for _, id := range plain.TopK[u] {
			if !excluded[u][id] {
				want = append(want, id)
			}
		}
		if len(got.TopK[u]) != 50 {
			t.Fatalf("user %d: %d answered, want a full 50", u, len(got.TopK[u]))
		}
		for _, id := range got.TopK[u] {
			if excluded[u][id] {
				t.Fatalf("user %d: excluded item %d answered", u, id)
			}
		}
		if !slices.Equal(got.TopK[u][:len(want)-5], want[:len(want)-5]) {
			t.Fatalf("user %d: filtered answer %v, want the unfiltered one without the excluded %v", u, got.TopK[u][:10], want[:10])
		}
	}
	for _, tc := range []struct {
		name string
		f    *serving.Filter
	}{
		{"include_cate_ids", &serving.Filter{IncludeCateIDs: [][]int64{{3}}}},
		{"exclude_cate_ids", &serving.Filter{ExcludeCateIDs: [][]int64{{3}}}},
		{"exclude_history", &serving.Filter{ExcludeHistory: []bool{true}}},
	} {
		r := fixtureRequest(t, arrs, sig, topn)
		tc.f.IncludeCateIDs = pad(tc.f.IncludeCateIDs, r.Batch)
		tc.f.ExcludeCateIDs = pad(tc.f.ExcludeCateIDs, r.Batch)
		if tc.f.ExcludeHistory != nil {
			tc.f.ExcludeHistory = slices.Repeat(tc.f.ExcludeHistory, r.Batch)
		}
		r.Filter = tc.f
		if _, err := s.Predict(ctx, r); !errors.Is(err, serving.ErrInvalidInput) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s: %v, want invalid input naming it", tc.name, err)
		}
	}
}

// pad repeats a one-row filter list for every row of a batch.
func pad(rows [][]int64, batch int) [][]int64 {
	if rows == nil {
		return nil
	}
	return slices.Repeat(rows, batch)
}

// TestImportTablesChoice: the import measures float32 against float16
// item tables by default and records the choice, which every load then
// uses; an explicit choice is recorded without a measurement; a bad one
// is refused by Validate.
func TestImportTablesChoice(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ tables, want string }{{"auto", ""}, {"", "float32"}, {"float16", "float16"}, {"float32", "float32"}} {
		o, _ := onnxFixture(t, "reference")
		o.Tables = tc.tables
		dir, m := mustImport(t, o)
		measured := m.TablesNsPerItem != [2]float64{}
		if m.Tables != "float16" && m.Tables != "float32" || (tc.want != "" && m.Tables != tc.want) || measured != (tc.tables == "auto") {
			t.Fatalf("tables %q: manifest says %q, measured %v (%v)", tc.tables, m.Tables, measured, m.TablesNsPerItem)
		}
		b, err := OpenONNX(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.Plan.Stats().Float16Tables; got != (m.Tables == "float16") {
			t.Fatalf("tables %q: loaded plan float16 %v, manifest %q", tc.tables, got, m.Tables)
		}
	}
	o, _ := onnxFixture(t, "reference")
	o.Tables = "bfloat16"
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "bfloat16") {
		t.Fatalf("bad tables accepted: %v", err)
	}
}
