package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"nann/internal/npy"
	"nann/internal/safefile"
)

// On disk an engine is a directory holding engine.json (format, version,
// config, table precision and the list of tensors with their shapes) and
// one .npy file per compiled tensor: item_table.npy (NumItems × (AttnHidden
// + ScoreHidden[0]), float16 or float32: per item h_q then U), the embedding tables
// (so that a server can turn raw history ids into comm_seq), the key-side
// and value-side weights for Bind, and the folded tail of the score network.

const (
	metaFile      = "engine.json"
	tableFile     = "item_table.npy"
	formatName    = "nann-engine"
	formatVersion = 1
)

// meta is engine.json.
type meta struct {
	Format  string           `json:"format"`
	Version int              `json:"version"`
	Config  Config           `json:"config"`
	Table   string           `json:"table"` // "float16", "float32" or "int8" (a float16 table, coded at Load)
	Store   string           `json:"store"` // "hu" or "ev" (see Layout)
	Tensors map[string][]int `json:"tensors"`
}

// tensor is one saved float32 tensor of the engine.
type tensor struct {
	name  string
	shape []int
	v     *[]float32
}

// tensors lists the float32 tensors (all but the item table) with their
// expected shapes.
func (e *Engine) tensors() []tensor {
	c := e.cfg
	h, sw, m := c.AttnHidden, c.SeqWidth(), c.ScoreHidden
	var ev []tensor
	if e.store == StoreEV {
		hp := roundUp(h, 8)
		ev = []tensor{
			{"query_dense0_kernel", []int{c.ItemDim, h}, &e.wq1},
			{"query_dense0_bias", []int{hp}, &e.bq1},
			{"query_prelu_alpha", []int{hp}, &e.aq},
			{"score_w1_ev", []int{c.ItemDim, m[0]}, &e.w1e},
			{"score_b1", []int{m[0]}, &e.b1e},
		}
	}
	return append(ev, []tensor{
		{"item_emb", []int{c.NumItems + 1, c.EmbDim}, &e.itemEmb},
		{"cate_emb", []int{c.NumCates + 1, c.EmbDim}, &e.cateEmb},
		{"key_dense0_kernel", []int{sw, h}, &e.k1W},
		{"key_dense0_bias", []int{h}, &e.k1B},
		{"key_prelu_alpha", []int{h}, &e.kAct},
		{"attn_m", []int{h, h}, &e.attM},
		{"attn_mb", []int{h}, &e.attMB},
		{"attn_cw", []int{h}, &e.attCW},
		{"attn_c0", []int{1}, &e.attC0},
		{"score_w1_att", []int{sw, m[0]}, &e.w1a},
		{"score_alpha0", []int{m[0]}, &e.a1},
		{"score_w2", []int{m[0], m[1]}, &e.w2},
		{"score_b2", []int{m[1]}, &e.b2},
		{"score_alpha1", []int{m[1]}, &e.a2},
		{"score_w3", []int{m[1], m[2]}, &e.w3},
		{"score_b3", []int{m[2]}, &e.b3},
		{"score_alpha2", []int{m[2]}, &e.a3},
		{"score_w4", []int{m[2]}, &e.w4},
	}...)
}

// Save writes the engine into dir atomically: everything goes to a staging
// directory next to dir, which then replaces dir (an existing dir is
// replaced whole).
func (e *Engine) Save(dir string) error {
	dir = filepath.Clean(dir)
	staging, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-*")
	if err != nil {
		return fmt.Errorf("engine: save: %w", err)
	}
	if err := e.writeFiles(staging); err != nil {
		os.RemoveAll(staging)
		return fmt.Errorf("engine: save %s: %w", dir, err)
	}
	if err := safefile.ReplaceDir(staging, dir); err != nil {
		os.RemoveAll(staging)
		return fmt.Errorf("engine: save %s: %w", dir, err)
	}
	return nil
}

func (e *Engine) writeFiles(dir string) error {
	m := meta{Format: formatName, Version: formatVersion, Config: e.cfg, Table: e.prec.String(), Store: e.store.String(),
		Tensors: map[string][]int{}}
	for _, t := range e.tensors() {
		if err := npy.Write(filepath.Join(dir, t.name+".npy"), *t.v, t.shape...); err != nil {
			return err
		}
		m.Tensors[t.name] = t.shape
	}
	shape := []int{e.cfg.NumItems, e.tw}
	m.Tensors["item_table"] = shape
	var err error
	if e.t16 != nil {
		err = npy.WriteFloat16(filepath.Join(dir, tableFile), e.t16, shape...)
	} else {
		err = npy.Write(filepath.Join(dir, tableFile), e.t32, shape...)
	}
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return safefile.WriteBytes(filepath.Join(dir, metaFile), append(b, '\n'))
}

// byName returns the one of values whose String is name.
func byName[T fmt.Stringer](name string, values ...T) (T, bool) {
	for _, v := range values {
		if v.String() == name {
			return v, true
		}
	}
	var zero T
	return zero, false
}

// maxMetaBytes bounds engine.json.
const maxMetaBytes = 1 << 20

// Load reads an engine saved by Save, checking the format, the config, every
// tensor's dtype and shape against the config, and that all values are
// finite. threads is as in Options (0: GOMAXPROCS).
func Load(dir string, threads int) (*Engine, error) {
	m, err := readMeta(filepath.Join(dir, metaFile))
	if err != nil {
		return nil, err
	}
	prec, ok := byName(m.Table, Float32, Float16, Int8)
	if !ok {
		return nil, fmt.Errorf("engine: %s: table precision %q is not float32, float16 or int8", filepath.Join(dir, metaFile), m.Table)
	}
	store, ok := byName(m.Store, StoreHU, StoreEV)
	if !ok {
		return nil, fmt.Errorf("engine: %s: store layout %q is neither hu nor ev", filepath.Join(dir, metaFile), m.Store)
	}
	opt := Options{Table: prec, Store: store, Threads: threads}
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	e := newEngine(m.Config, prec, store, opt.threads())
	var errs []error
	for _, t := range e.tensors() {
		if got, ok := m.Tensors[t.name]; !ok || !slices.Equal(got, t.shape) {
			errs = append(errs, fmt.Errorf("engine: %s lists tensor %s with shape %v, config implies %v", metaFile, t.name, got, t.shape))
			continue
		}
		v, err := readTensor[float32](filepath.Join(dir, t.name+".npy"), t.shape, 4)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		*t.v = v
	}
	if err := e.loadTable(dir); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	e.pack()
	if e.prec == Int8 {
		e.codeTable()
	}
	return e, nil
}

func readMeta(path string) (meta, error) {
	var m meta
	fi, err := os.Stat(path)
	if err != nil {
		return m, fmt.Errorf("engine: %w", err)
	}
	if fi.Size() > maxMetaBytes {
		return m, fmt.Errorf("engine: %s: %d bytes, more than %d", path, fi.Size(), maxMetaBytes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return m, fmt.Errorf("engine: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("engine: %s: %w", path, err)
	}
	if m.Format != formatName || m.Version != formatVersion {
		return m, fmt.Errorf("engine: %s: format %q version %d, want %q version %d", path, m.Format, m.Version, formatName, formatVersion)
	}
	if err := m.Config.Validate(); err != nil {
		return m, fmt.Errorf("engine: %s: %w", path, err)
	}
	return m, nil
}

// loadTable reads item_table.npy in the precision engine.json states.
func (e *Engine) loadTable(dir string) error {
	path := filepath.Join(dir, tableFile)
	shape := []int{e.cfg.NumItems, e.tw}
	var err error
	if e.prec != Float32 {
		e.t16, err = readTensor[uint16](path, shape, 2)
		if err == nil {
			err = checkFiniteF16(path, e.t16)
		}
		return err
	}
	e.t32, err = readTensor[float32](path, shape, 4)
	return err
}

// headerSlack bounds the size of a .npy header.
const headerSlack = 1 << 16

// readTensor reads a .npy file of the given shape, refusing (before reading
// it) a file far larger than the shape needs, and checking float32 values
// are finite.
func readTensor[T float32 | uint16](path string, shape []int, size int) ([]T, error) {
	n := 1
	for _, s := range shape {
		n *= s
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	if fi.Size() > int64(n)*int64(size)+headerSlack {
		return nil, fmt.Errorf("engine: %s: %d bytes, far more than shape %v needs", path, fi.Size(), shape)
	}
	var v []T
	var got []int
	switch any(v).(type) {
	case []uint16:
		var b []uint16
		b, got, err = npy.ReadFloat16(path)
		v = any(b).([]T)
	default:
		var f []float32
		f, got, err = npy.Read[float32](path)
		v = any(f).([]T)
	}
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	if !slices.Equal(got, shape) {
		return nil, fmt.Errorf("engine: %s: shape %v, want %v", path, got, shape)
	}
	if f, ok := any(v).([]float32); ok {
		if i := firstNonFinite(f); i >= 0 {
			return nil, fmt.Errorf("engine: %s: element %d = %v is not finite", path, i, f[i])
		}
	}
	return v, nil
}

// checkFiniteF16 reports the first half-precision Inf or NaN (exponent all
// ones).
func checkFiniteF16(path string, v []uint16) error {
	for i, b := range v {
		if b&0x7c00 == 0x7c00 {
			return fmt.Errorf("engine: %s: element %d (bits %#04x) is not finite", path, i, b)
		}
	}
	return nil
}
