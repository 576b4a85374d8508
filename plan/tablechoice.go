package plan

import (
	"fmt"
	"math/rand/v2"
	"time"

	"nann/internal/vec"
	"nann/item"
	"nann/onnx"
)

// The choice of float32 or float16 item tables by measured cost
// (Options.MeasureTables), as the hand engine's layout was chosen: both are
// timed on the same random rows for one random user, alternately, and the
// float16 tables are kept unless they score more than tableSlack slower
// (they hold half the memory). The outcome is recorded in the plan
// (Stats.Float16Tables, Stats.TableNsPerItem) so that whoever writes a
// bundle can store the choice instead of measuring again.

const tableSlack = 1.03

// TableChoice is the outcome of the measurement.
type TableChoice struct {
	Measured       bool       // false: chosen by Options, not measured
	NsPerItem      [2]float64 // float32, float16: best of the rounds, one core
	Rows, Rounds   int
	Float16Chosen  bool
	MeasureSeconds float64
}

func (t TableChoice) String() string {
	if !t.Measured {
		return "not measured"
	}
	kind := "float32"
	if t.Float16Chosen {
		kind = "float16"
	}
	return fmt.Sprintf("%s (measured: float32 %.0f ns/item, float16 %.0f ns/item, %d rows × %d rounds)", kind, t.NsPerItem[0], t.NsPerItem[1], t.Rows, t.Rounds)
}

// measureTables times the pair stage with each table precision and keeps
// the cheaper; p's tables are float32 on entry.
func (p *Plan) measureTables() error {
	t0 := time.Now()
	rng := rand.New(rand.NewPCG(11, 12))
	user := map[string]*onnx.Tensor{}
	for i, name := range p.c.UserInputs {
		v := p.g.Values[name]
		t := onnx.NewTensor(v.DType, p.userShapes[i]...)
		if v.DType.IsFloat() {
			for j := range t.Data {
				t.Data[j] = rng.NormFloat64()
			}
		}
		user[name] = t
	}
	s := p.NewScorer()
	if err := s.Bind(user); err != nil {
		return fmt.Errorf("plan: measuring the item tables: %w", err)
	}
	rows := make([]item.Row, min(4096, 32*p.block))
	for i := range rows {
		rows[i] = item.Row(rng.IntN(p.n))
	}
	out := make([]float32, len(rows))
	f16 := make([][]uint16, len(p.tables))
	f32 := make([][]float32, len(p.tables))
	for i := range p.tables {
		f32[i] = p.tables[i].data
		f16[i] = make([]uint16, len(f32[i]))
		vec.F32ToF16(f16[i], f32[i])
	}
	use := func(half bool) {
		for i := range p.tables {
			if half {
				p.tables[i].data, p.tables[i].f16 = nil, f16[i]
			} else {
				p.tables[i].data, p.tables[i].f16 = f32[i], nil
			}
		}
	}
	const rounds = 3
	best := [2]time.Duration{1 << 62, 1 << 62}
	for r := 0; r < rounds; r++ {
		for k := 0; k < 2; k++ {
			use(k == 1)
			t := time.Now()
			s.scoreSerial(s.states[0], rows, out)
			best[k] = min(best[k], time.Since(t))
		}
	}
	ch := TableChoice{Measured: true, Rows: len(rows), Rounds: rounds}
	for k := range best {
		ch.NsPerItem[k] = float64(best[k].Nanoseconds()) / float64(len(rows))
	}
	ch.Float16Chosen = ch.NsPerItem[1] <= tableSlack*ch.NsPerItem[0]
	use(ch.Float16Chosen)
	ch.MeasureSeconds = time.Since(t0).Seconds()
	p.tableChoice = ch
	return nil
}
