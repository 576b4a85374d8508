package bundle

// Serving an imported bundle: ONNXServable answers Predict with beam
// retrieval over the bundle's HNSW graph, scoring candidates with the
// compiled plan. Its Signature lists the model's user-side inputs by ONNX
// name, dtype and shape; a request carries one tensor per input
// (Request.Inputs), Batch rows each.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"nann/item"
	"nann/onnx"
	"nann/plan"
	"nann/retrieve"
	"nann/serving"
)

// ONNXServable is an imported bundle loaded for serving. It is safe for
// concurrent use.
type ONNXServable struct {
	b      *ONNXBundle
	sig    serving.Signature
	inputs []*onnx.Value // the plan's user inputs, in signature order
	rowOf  map[int64]item.Row
	pool   *retrieve.Pool[userQuery]
	flt    onnxFilters
}

var (
	_ serving.Servable    = (*ONNXServable)(nil)
	_ serving.ItemCatalog = (*ONNXServable)(nil)
)

// isONNXManifest reports whether dir's manifest names the imported-bundle
// format (any version: ReadONNXManifest then says what is wrong with it).
func isONNXManifest(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return false
	}
	var head struct {
		Format string `json:"format"`
	}
	return json.Unmarshal(b, &head) == nil && head.Format == onnxFormatName
}

// LoadONNX opens the imported bundle in dir (OpenONNX: every checksum, the
// compiled plan, the graph and the ids) as a serving.Servable.
func LoadONNX(ctx context.Context, dir string) (*ONNXServable, error) {
	b, err := OpenONNX(ctx, dir)
	if err != nil {
		return nil, err
	}
	s, err := newONNXServable(b)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	}
	return s, nil
}

// ServingDType maps an ONNX element type to the serving API's, or fails
// for a type the API does not carry.
func ServingDType(d onnx.DType) (serving.DType, error) { return serving.ParseDType(d.String()) }

// defaultONNXLevelTopN is the default level_topn of imported bundles (the
// reference's serving example), each width capped at the corpus size.
var defaultONNXLevelTopN = [6]int32{100, 200, 200, 200, 200, 200}

func newONNXServable(b *ONNXBundle) (*ONNXServable, error) {
	s := &ONNXServable{b: b, inputs: b.Plan.UserInputs(), rowOf: make(map[int64]item.Row, len(b.ItemIDs))}
	n := b.Plan.NumItems()
	for i, w := range defaultONNXLevelTopN {
		s.sig.DefaultLevelTopN[i] = int32(min(int(w), n))
	}
	s.sig.K = int(s.sig.DefaultLevelTopN[5])
	var errs []error
	for _, v := range s.inputs {
		dt, err := ServingDType(v.DType)
		if err != nil {
			errs = append(errs, fmt.Errorf("user input %q: %w", v.Name, err))
			continue
		}
		shape := []int64{-1}
		for _, d := range v.Shape.At(1)[1:] {
			shape = append(shape, int64(d))
		}
		s.sig.Inputs = append(s.sig.Inputs, serving.Input{Name: v.Name, DType: dt, Shape: shape})
	}
	s.initFilters()
	if len(errs) == 0 && len(s.sig.Inputs) == 0 {
		errs = append(errs, fmt.Errorf("the model has no user-side input, so every query would get the same answer"))
	}
	if len(errs) == 0 {
		errs = append(errs, s.sig.Validate())
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("serving signature: %w", err)
	}
	for i, id := range b.ItemIDs {
		s.rowOf[id] = item.Row(i)
	}
	var err error
	if s.pool, err = retrieve.NewPool[userQuery](b.Graph, planCorpus{b.Plan}); err != nil {
		return nil, err
	}
	return s, nil
}

// Bundle is the opened bundle the servable serves.
func (s *ONNXServable) Bundle() *ONNXBundle { return s.b }

// Signature lists the model's user-side inputs and the default beam.
func (s *ONNXServable) Signature() serving.Signature { return s.sig }

// Close releases nothing: the plan's workers end when it is unreachable.
func (s *ONNXServable) Close() error { return nil }

// KnownItemID reports whether raw is an item id of the bundle's corpus.
func (s *ONNXServable) KnownItemID(raw int64) bool {
	_, ok := s.rowOf[raw]
	return ok
}

// ItemRow maps an item id to its row of the corpus.
func (s *ONNXServable) ItemRow(raw int64) (item.Row, bool) {
	r, ok := s.rowOf[raw]
	return r, ok
}

// Pool is the retrieval state over the servable's graph and plan: beam
// search and brute force for one user's plan inputs (see UserQuery).
func (s *ONNXServable) Pool() *retrieve.Pool[map[string]*onnx.Tensor] { return s.pool }

// UserQuery is one user's inputs as the plan binds them (leading dimension
// 1): row of r's named inputs, checked against the signature.
func (s *ONNXServable) UserQuery(r *serving.Request, row int) (map[string]*onnx.Tensor, error) {
	if r.Inputs == nil {
		return nil, fmt.Errorf("this model takes the named inputs %s, not comm_seq or item_ids: %w", s.inputNames(), serving.ErrInvalidInput)
	}
	q := make(map[string]*onnx.Tensor, len(s.inputs))
	for i, v := range s.inputs {
		in := s.sig.Inputs[i]
		t := r.Inputs[v.Name]
		if t == nil {
			return nil, fmt.Errorf("input %q is missing (inputs: %s): %w", v.Name, s.inputNames(), serving.ErrInvalidInput)
		}
		w := in.RowLen()
		if len(t.Shape) != len(in.Shape) || len(t.Shape) == 0 || t.Shape[0] != int64(r.Batch) || !slices.Equal(t.Shape[1:], in.Shape[1:]) || int64(t.Len()) != int64(r.Batch)*w {
			return nil, fmt.Errorf("input %q: shape %v with %d values, want %v with batch %d: %w", v.Name, t.Shape, t.Len(), in.Shape, r.Batch, serving.ErrInvalidInput)
		}
		if in.DType.IsFloat() != (t.Floats != nil) {
			return nil, fmt.Errorf("input %q: want %s values: %w", v.Name, in.DType, serving.ErrInvalidInput)
		}
		x := &onnx.Tensor{DType: v.DType, Shape: v.Shape.At(1), Data: make([]float64, w)}
		lo := int64(row) * w
		if t.Floats != nil {
			for j, f := range t.Floats[lo : lo+w] {
				if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
					return nil, fmt.Errorf("input %q: non-finite value %v in row %d: %w", v.Name, f, row, serving.ErrInvalidInput)
				}
				x.Data[j] = float64(f)
			}
		} else {
			for j, n := range t.Ints[lo : lo+w] {
				if n > 1<<53 || n < -(1<<53) || (in.DType == serving.Int32 && (n > math.MaxInt32 || n < math.MinInt32)) {
					return nil, fmt.Errorf("input %q: value %d in row %d is out of range for %s: %w", v.Name, n, row, in.DType, serving.ErrInvalidInput)
				}
				x.Data[j] = float64(n)
			}
		}
		q[v.Name] = x
	}
	for name := range r.Inputs {
		if _, ok := q[name]; !ok {
			return nil, fmt.Errorf("input %q is not an input of this model (inputs: %s): %w", name, s.inputNames(), serving.ErrInvalidInput)
		}
	}
	return q, nil
}

func (s *ONNXServable) inputNames() string {
	names := make([]string, len(s.inputs))
	for i, v := range s.inputs {
		names[i] = v.Name
	}
	return fmt.Sprint(names)
}

// Beam checks level_topn for the corpus, as the reference servable does.
func (s *ONNXServable) Beam(levelTopN [6]int32) (*retrieve.ServingParams, error) {
	p := &retrieve.ServingParams{}
	for i, v := range levelTopN {
		p.LevelTopN[i] = int(v)
	}
	if err := p.ValidateFor(s.b.Plan.NumItems()); err != nil {
		return nil, fmt.Errorf("level_topn: %v: %w", err, serving.ErrInvalidInput)
	}
	return p, nil
}

// Predict answers each row by beam retrieval (level_topn as for nann's own
// bundles), returning item ids, scores and items scored.
func (s *ONNXServable) Predict(ctx context.Context, r *serving.Request) (*serving.Response, error) {
	p, err := s.Beam(r.LevelTopN)
	if err != nil {
		return nil, err
	}
	if err := checkONNXFilter(r); err != nil {
		return nil, err
	}
	resp := &serving.Response{TopK: make([][]int64, r.Batch), Scores: make([][]float32, r.Batch), ItemsScored: make([]int, r.Batch)}
	var ans retrieve.Answer
	for row := 0; row < r.Batch; row++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		q, err := s.UserQuery(r, row)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", row, err)
		}
		if err := s.searchRow(q, p, r, row, &ans); err != nil {
			return nil, fmt.Errorf("row %d (inputs %s): %w", row, s.inputNames(), err)
		}
		ids := make([]int64, len(ans.Rows))
		for i, rw := range ans.Rows {
			ids[i] = s.b.ItemIDs[rw]
		}
		resp.TopK[row], resp.Scores[row], resp.ItemsScored[row] = ids, slices.Clone(ans.Scores), ans.Total
	}
	return resp, nil
}

// userQuery is one user's plan inputs (leading dimension 1).
type userQuery = map[string]*onnx.Tensor

// planCorpus is a compiled plan as a retrieval corpus.
type planCorpus struct{ p *plan.Plan }

// PlanCorpus is p as a retrieve.Corpus whose queries are one user's plan
// inputs. A Bind error (a user-stage failure on the input's values, such
// as an id outside an embedding table) wraps serving.ErrInvalidInput.
func PlanCorpus(p *plan.Plan) retrieve.Corpus[map[string]*onnx.Tensor] { return planCorpus{p} }

func (c planCorpus) NumItems() int { return c.p.NumItems() }

func (c planCorpus) NewScorer() retrieve.QueryScorer[userQuery] {
	return &planScorer{sc: c.p.NewScorer()}
}

// planScorer adapts plan.Scorer to retrieve's scorer. Retrieval passes only
// rows of the corpus to a bound scorer, the only case in which plan's Score
// fails; should it fail anyway, every score is NaN (ranked last).
type planScorer struct{ sc *plan.Scorer }

func (s *planScorer) Bind(q userQuery) error {
	if err := s.sc.Bind(q); err != nil {
		return fmt.Errorf("%w: %w", err, serving.ErrInvalidInput)
	}
	return nil
}

func (s *planScorer) Score(rows []item.Row, out []float32) {
	if err := s.sc.Score(rows, out); err != nil {
		for i := range rows {
			out[i] = float32(math.NaN())
		}
	}
}
