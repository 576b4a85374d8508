package plan

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"nann/internal/parallel"
	"nann/internal/vec"
	"nann/item"
	"nann/onnx"
)

// Scorer scores items for one user: Bind runs the user stage once, Score
// runs the pair stage over blocks of candidates. A Scorer is used by one
// goroutine at a time; Score does not allocate.
type Scorer struct {
	p      *Plan
	states []*state // one per thread; states[0] runs on the caller
	ust    *state   // the compiled user stage's buffers (nil: interpreted)
	bound  bool
	wg     sync.WaitGroup
}

// minParallel is the smallest part of a batch worth handing to another core.
const minParallel = 256

// NewScorer returns an unbound scorer.
func (p *Plan) NewScorer() *Scorer {
	s := &Scorer{p: p}
	for i := 0; i < p.threads; i++ {
		s.states = append(s.states, p.prog.newState())
	}
	if p.user != nil {
		s.ust = p.user.pr.newState()
	}
	return s
}

// job is a part of a Score batch handed to a pool worker.
type job struct {
	s    *Scorer
	st   *state
	rows []item.Row
	out  []float32
}

// startPool starts threads−1 workers. They hold only the job channel,
// which a cleanup closes once the plan is unreachable.
func (p *Plan) startPool() {
	p.jobs = make(chan job, 4*p.threads)
	for i := 0; i < p.threads-1; i++ {
		go func(jobs <-chan job) {
			for {
				j, ok := parallel.Recv(jobs, parallel.IdlePolls)
				if !ok {
					return
				}
				j.s.scoreSerial(j.st, j.rows, j.out)
				j.s.wg.Done()
			}
		}(p.jobs)
	}
	runtime.AddCleanup(p, func(ch chan job) { close(ch) }, p.jobs)
}

// UserInputs describes the user-side inputs Bind takes: name, type and
// shape for one user (leading dimension 1).
func (p *Plan) UserInputs() []*onnx.Value {
	out := make([]*onnx.Value, len(p.c.UserInputs))
	for i, name := range p.c.UserInputs {
		out[i] = p.g.Values[name]
	}
	return out
}

// Bind sets the user: one tensor per user input, with leading dimension 1.
// Where the user stage is compiled (Stats.UserKernels > 0), Bind does not
// allocate after the scorer's first use.
func (s *Scorer) Bind(user map[string]*onnx.Tensor) error {
	p := s.p
	var errs []error
	for i, name := range p.c.UserInputs {
		v := p.g.Values[name]
		t, ok := user[name]
		if !ok {
			errs = append(errs, fmt.Errorf("plan: user input %q is not given", name))
			continue
		}
		want := p.userShapes[i]
		if !slices.Equal(t.Shape, want) || t.Len() != numel(want) || len(t.Data) != numel(want) {
			errs = append(errs, fmt.Errorf("plan: user input %q has shape %v, want %v", name, t.Shape, want))
			continue
		}
		if t.DType != v.DType {
			errs = append(errs, fmt.Errorf("plan: user input %q is %s, want %s", name, t.DType, v.DType))
		}
	}
	for name := range user {
		if _, ok := p.g.Values[name]; !ok || !contains(p.c.UserInputs, name) {
			errs = append(errs, fmt.Errorf("plan: %q is not a user input (user inputs: %v)", name, p.c.UserInputs))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	// value returns user value i (an index into p.userOut) in float32 or,
	// from the interpreter, float64.
	var value func(i int) ([]float32, []float64)
	if p.user != nil {
		us := s.ust
		for i, name := range p.c.UserInputs {
			d := us.b[p.user.inputs[i]]
			for j, x := range user[name].Data {
				d[j] = float32(x)
			}
		}
		for _, k := range p.user.pr.kernels {
			k.run(us)
		}
		value = func(i int) ([]float32, []float64) { return us.b[p.user.outs[i]], nil }
	} else {
		env := map[*onnx.Value]*onnx.Tensor{}
		for _, name := range p.c.UserInputs {
			env[p.g.Values[name]] = user[name]
		}
		if err := p.runStage(p.userNodes, 1, env); err != nil {
			return fmt.Errorf("plan: user stage: %w", err)
		}
		value = func(i int) ([]float32, []float64) { return nil, env[p.userOut[i]].Data }
	}
	for i, b := range p.prog.bufs {
		if b.alias >= 0 || (b.kind != bUser && b.kind != bUserRep) {
			continue
		}
		f32, f64 := value(b.src)
		d := s.states[0].b[i]
		if f32 != nil {
			w := len(f32)
			for r := 0; r*w < len(d); r++ {
				copy(d[r*w:(r+1)*w], f32)
			}
		} else {
			w := len(f64)
			for r := 0; r*w < len(d); r++ {
				for j, x := range f64 {
					d[r*w+j] = float32(x)
				}
			}
		}
		for _, st := range s.states[1:] {
			copy(st.b[i], d)
		}
	}
	for _, st := range s.states {
		for _, k := range p.prog.bind {
			k.run(st)
		}
	}
	s.bound = true
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Score writes the score of each item row into out (len(out) ≥ len(rows);
// rows index the corpus passed to Compile).
func (s *Scorer) Score(rows []item.Row, out []float32) error {
	if !s.bound {
		return errors.New("plan: scorer used before Bind")
	}
	if len(out) < len(rows) {
		return fmt.Errorf("plan: %d rows but room for %d scores", len(rows), len(out))
	}
	p := s.p
	for i, r := range rows {
		if r < 0 || int(r) >= p.n {
			return fmt.Errorf("plan: row %d (position %d) outside [0, %d)", r, i, p.n)
		}
	}
	n := len(rows)
	// Split only over the cores other Score calls leave free (as the
	// engine does): when every core already scores a batch, parts handed to
	// the pool would only wait for each other.
	busy := int(p.scoring.Add(1))
	defer p.scoring.Add(-1)
	parts := parallel.Parts(p.threads-busy+1, n, minParallel)
	if parts == 1 {
		s.scoreSerial(s.states[0], rows, out)
		if busy > 1 {
			// Sharing the cores: let concurrent queries advance in turn.
			runtime.Gosched()
		}
		return nil
	}
	p.poolOnce.Do(p.startPool)
	chunk := (n + parts - 1) / parts
	chunk = (chunk + p.block - 1) / p.block * p.block
	i := 1
	for lo := chunk; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		s.wg.Add(1)
		p.jobs <- job{s: s, st: s.states[i], rows: rows[lo:hi], out: out[lo:hi]}
		i++
	}
	s.scoreSerial(s.states[0], rows[:min(chunk, n)], out[:min(chunk, n)])
	s.wg.Wait()
	return nil
}

// scoreSerial scores rows block by block with one state.
func (s *Scorer) scoreSerial(st *state, rows []item.Row, out []float32) {
	p := s.p
	B := p.block
	for lo := 0; lo < len(rows); lo += B {
		hi := min(lo+B, len(rows))
		if hi < len(rows) {
			s.prefetch(rows[hi:min(hi+B, len(rows))])
		}
		s.gather(st, rows[lo:hi])
		for _, k := range p.prog.kernels {
			k.run(st)
		}
		copy(out[lo:hi], st.b[p.prog.score][:hi-lo])
	}
}

// prefetch asks for the table rows of the next block to be brought into
// cache while the current block is computed.
func (s *Scorer) prefetch(rows []item.Row) {
	for i := range s.p.tables {
		t := &s.p.tables[i]
		if t.f16 != nil {
			vec.PrefetchRows(t.f16, t.width, item.RowInt32s(rows))
		} else {
			vec.PrefetchRows(t.data, t.width, item.RowInt32s(rows))
		}
	}
}

// gather copies the table rows of a block into the item buffers; a short
// block is padded with its last row.
func (s *Scorer) gather(st *state, rows []item.Row) {
	p := s.p
	for i, b := range p.prog.bufs {
		if b.kind != bItem || b.alias >= 0 {
			continue
		}
		t := &p.tables[b.src]
		d := st.b[i]
		w := t.width
		if t.f16 != nil {
			for j := 0; j < p.block; j++ {
				r := int(rows[min(j, len(rows)-1)])
				vec.F16ToF32(d[j*w:(j+1)*w], t.f16[r*w:(r+1)*w])
			}
			continue
		}
		for j := 0; j < p.block; j++ {
			r := int(rows[min(j, len(rows)-1)])
			copy(d[j*w:(j+1)*w], t.data[r*w:(r+1)*w])
		}
	}
}
