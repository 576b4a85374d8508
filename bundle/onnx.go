package bundle

// An imported ONNX bundle (nann import) is a model version directory
// `<base>/<name>/<version>/` of its own format:
//
//	manifest.json       ONNXManifest: format "nann-onnx-bundle", model name
//	                    and version, the scoring contract (user inputs by
//	                    name, dtype and shape; item input; score output),
//	                    provenance, the size and SHA-256 of every other file
//	                    and of the manifest itself
//	model.onnx          the scoring network, as given
//	item_embs.npy       float32 [N, d]: the vectors the index is built on:
//	                    the item input of every item, or, with an index
//	                    embedding, that item-only value of the graph
//	                    computed for every item at import
//	item_input.npy      only with an index embedding: the item input of
//	                    every item (ids [N], features [N, F], any dtype
//	                    the graph's item input declares)
//	item_raw_ids.npy    int64 [N]: the id of item row r
//	index/graph.hnsw    the HNSW graph over item_embs.npy
//	index/*.npy         the same graph in the reference's NumPy layout
//
// It is written as Export writes: staged in a locked hidden directory,
// checked by OpenONNX exactly as a loader would, then renamed onto a free
// version number. bundle.Load serves it (LoadONNX, onnxserve.go).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"nann/hnsw"
	"nann/internal/npy"
	"nann/internal/safefile"
	"nann/item"
	"nann/onnx"
	"nann/plan"
)

const (
	onnxFormatName    = "nann-onnx-bundle"
	onnxFormatVersion = 1
	// ONNXModelFile, ONNXItemEmbsFile and ItemIDsFile are the files of an
	// imported bundle.
	ONNXModelFile    = "model.onnx"
	ONNXItemEmbsFile = "item_embs.npy"
	ItemIDsFile      = "item_raw_ids.npy"
	// ONNXItemInputFile is the item input table of a bundle whose index
	// is built on a value inside the graph (ONNXManifest.IndexEmbedding).
	ONNXItemInputFile = "item_input.npy"
	// importStaging names the hidden staging directories of imports.
	importStaging = "import"
)

// ImportOptions controls ImportONNX. Start from DefaultImportOptions.
type ImportOptions struct {
	ONNX string // the scoring network (.onnx)
	// ItemEmbs is the item input of every item (.npy, leading dim N):
	// without IndexEmbedding float32 [N, d], the vectors the index is built
	// on; with it, any table the item input declares (ids [N], features
	// [N, F], embeddings). "" with IndexEmbedding and an integer item input
	// of shape [n] or [n, 1]: the item ids are the item input.
	ItemEmbs string
	ItemIDs  string // int32/int64 [N] .npy: the id of each item row, distinct
	// ItemFeatures are further item-side inputs of the model (an item's
	// category, price, ...): input name → .npy with one row per item, in
	// the dtype and shape the input declares. The model is compiled with
	// each item-side input as a lookup, by the item's row, of its table.
	ItemFeatures map[string]string
	// IndexEmbedding names the value of the graph the index is built on
	// ("" for the item input itself): an item-only value (plan.ItemValue
	// proves it), float [n, d], computed for every item at import.
	IndexEmbedding string
	IndexDir       string // an index directory over ItemEmbs (nann index); "" builds one
	Base           string // bundles go to Base/Name/Version
	Name           string // model name ("nann")
	// Version is the model version; 0 means one above the newest present.
	Version int64
	// Contract names the model's roles (plan's defaults for empty names;
	// with none named, the item input is the only input named "item…").
	Contract plan.Contract
	// Index configures the graph built when IndexDir is "".
	Index hnsw.Config
	// Tables is the precision of the compiled item tables: "auto" times
	// the pair stage with float32 and float16 tables at import and keeps
	// float16 unless it is measurably slower (plan.Options MeasureTables;
	// nann import's default); "float32" ("" too: exact scores, no timing)
	// or "float16" chooses without measuring.
	// The choice is recorded in the manifest and used at every load.
	Tables string
	// Log receives the import's log lines (nil: slog.Default()).
	Log *slog.Logger
}

// DefaultImportOptions: model name "nann", hnsw.DefaultConfig().
func DefaultImportOptions() ImportOptions {
	return ImportOptions{Name: "nann", Index: hnsw.DefaultConfig()}
}

// Validate reports every problem at once.
func (o ImportOptions) Validate() error {
	var errs []error
	switch o.Tables {
	case "", "auto", "float32", "float16":
	default:
		errs = append(errs, fmt.Errorf("tables %q: want auto, float32 or float16", o.Tables))
	}
	for _, f := range []struct{ what, v string }{{"ONNX model", o.ONNX}, {"item ids", o.ItemIDs}, {"base path", o.Base}} {
		if f.v == "" {
			errs = append(errs, fmt.Errorf("%s path is empty", f.what))
		}
	}
	if o.ItemEmbs == "" && o.IndexEmbedding == "" {
		errs = append(errs, errors.New("item embeddings path is empty (without an index embedding the index is built on them)"))
	}
	if o.Name == "" || o.Name != filepath.Base(o.Name) || o.Name[0] == '.' {
		errs = append(errs, fmt.Errorf("model name %q must be a plain directory name", o.Name))
	}
	if o.Version < 0 {
		errs = append(errs, fmt.Errorf("version %d must not be negative", o.Version))
	}
	if o.IndexDir == "" {
		errs = append(errs, o.Index.Validate())
	}
	return errors.Join(errs...)
}

// ONNXManifest describes an imported bundle; it is stored as manifest.json.
type ONNXManifest struct {
	Format   string       `json:"format"`
	Version  int          `json:"format_version"`
	Name     string       `json:"model_name"`
	ModelVer int64        `json:"model_version"`
	Created  time.Time    `json:"created"`
	Contract ONNXContract `json:"contract"`
	NumItems int          `json:"num_items"`
	ItemDim  int          `json:"item_dim"` // width of item_embs.npy, the index vectors
	// IndexEmbedding is the item-only value of the graph the index is
	// built on ("": the item input, and item_embs.npy is that input).
	IndexEmbedding string `json:"index_embedding,omitempty"`
	// Tables is the precision of the compiled item tables, "float16" or
	// "float32" ("" in bundles from before the choice: float32), and
	// TablesNsPerItem the import's measurement behind it (float32,
	// float16; zero when chosen by ImportOptions.Tables).
	Tables          string       `json:"tables,omitempty"`
	TablesNsPerItem [2]float64   `json:"tables_ns_per_item,omitzero"`
	Source          ImportSource `json:"source"`
	Files           []File       `json:"files"`
	// SHA256 is the SHA-256 of the manifest's compact JSON with this field
	// empty, as Manifest.SHA256.
	SHA256 string `json:"manifest_sha256"`
}

// ONNXContract is the resolved scoring contract of an imported model.
type ONNXContract struct {
	UserInputs []ONNXInput `json:"user_inputs"`
	ItemInput  string      `json:"item_input"`
	// ItemFeatures are the model's further item-side inputs, each stored
	// as item_feature_<k>.npy (k its position here).
	ItemFeatures []string `json:"item_features,omitempty"`
	ScoreOutput  string   `json:"score_output"`
}

// ONNXInput is one user-side input: its ONNX name, dtype and shape for one
// user (leading dimension 1).
type ONNXInput struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
}

// ImportSource is an imported bundle's provenance.
type ImportSource struct {
	ONNX     string `json:"onnx"`
	ItemEmbs string `json:"item_embs"` // "" when the item ids were the item input
	ItemIDs  string `json:"item_ids"`
	// ItemFeatures are the feature tables given, by item-side input.
	ItemFeatures map[string]string `json:"item_features,omitempty"`
	Index        string            `json:"index"` // "" when the import built it
}

func (m *ONNXManifest) canonicalSum() (string, error) { return sumOf(m) }

func (m *ONNXManifest) write(dir string) error { return writeSummed(dir, m) }

// ReadONNXManifest reads and checks the manifest of an imported bundle: its
// format, that it has no unknown field, and its own checksum.
func ReadONNXManifest(dir string) (*ONNXManifest, error) {
	return readSummed[ONNXManifest](dir, manifestKind{format: onnxFormatName, version: onnxFormatVersion})
}

// ONNXBundle is an opened imported bundle: the compiled plan over its item
// table, the graph and the item ids.
type ONNXBundle struct {
	Manifest *ONNXManifest
	Dir      string
	Plan     *plan.Plan
	Graph    *hnsw.Graph
	ItemIDs  []int64
	ItemEmbs []float32 // [NumItems × ItemDim]
}

// OpenONNX opens an imported bundle after verifying every checksum: it
// compiles the model over the item table with the manifest's contract and
// checks the graph, ids and contract against each other.
func OpenONNX(ctx context.Context, dir string) (*ONNXBundle, error) {
	m, err := ReadONNXManifest(dir)
	if err != nil {
		return nil, err
	}
	if err := Verify(dir, &Manifest{Files: m.Files}); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b := &ONNXBundle{Manifest: m, Dir: dir}
	if err := b.load(); err != nil {
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	}
	return b, nil
}

func (b *ONNXBundle) load() error {
	m := b.Manifest
	x, shape, err := npy.Read[float32](filepath.Join(b.Dir, ONNXItemEmbsFile))
	if err != nil {
		return err
	}
	if len(shape) != 2 || shape[0] != m.NumItems || shape[1] != m.ItemDim {
		return fmt.Errorf("%s has shape %v, manifest says [%d %d]", ONNXItemEmbsFile, shape, m.NumItems, m.ItemDim)
	}
	if b.ItemIDs, _, err = npy.Read[int64](filepath.Join(b.Dir, ItemIDsFile)); err != nil {
		return err
	}
	if err := checkItemIDs(b.ItemIDs, m.NumItems, ItemIDsFile); err != nil {
		return err
	}
	if b.Graph, err = hnsw.OpenDir(filepath.Join(b.Dir, "index")); err != nil {
		return err
	}
	if b.Graph.Len() != m.NumItems {
		return fmt.Errorf("graph has %d nodes, manifest %d items", b.Graph.Len(), m.NumItems)
	}
	if err := checkLayout(&Manifest{Files: m.Files}, b.Graph); err != nil {
		return err
	}
	g, err := readGraph(filepath.Join(b.Dir, ONNXModelFile))
	if err != nil {
		return err
	}
	c := plan.Contract{ItemInput: m.Contract.ItemInput, ScoreOutput: m.Contract.ScoreOutput, UserInputs: []string{}}
	for _, in := range m.Contract.UserInputs {
		c.UserInputs = append(c.UserInputs, in.Name)
	}
	items := itemTensor(x, shape)
	if m.IndexEmbedding != "" {
		if items, err = readItemInput(b.Dir, m); err != nil {
			return err
		}
	}
	if len(m.Contract.ItemFeatures) > 0 {
		tables, err := loadFeatureTables(b.Dir, m)
		if err != nil {
			return err
		}
		tables[m.Contract.ItemInput] = items
		if g, err = readWrapped(filepath.Join(b.Dir, ONNXModelFile), tables, m.NumItems); err != nil {
			return err
		}
		c, items = wrappedContract(c, g), itemRows(m.NumItems)
	}
	if m.IndexEmbedding != "" {
		if err := checkIndexVectors(g, c, items, m, x); err != nil {
			return err
		}
	}
	if b.Plan, err = plan.Compile(g, c, items, plan.Options{Float16Tables: m.Tables == "float16"}); err != nil {
		return fmt.Errorf("%s: %w", ONNXModelFile, err)
	}
	got := contractOf(b.Plan)
	if len(m.Contract.ItemFeatures) > 0 {
		got.ItemInput, got.ItemFeatures = m.Contract.ItemInput, m.Contract.ItemFeatures
	}
	if !sameContract(got, m.Contract) {
		return fmt.Errorf("%s: the compiled contract %+v differs from the manifest's %+v", ONNXModelFile, got, m.Contract)
	}
	b.ItemEmbs = x
	return nil
}

func readGraph(path string) (*onnx.Graph, error) {
	mdl, err := onnx.ReadFile(path, onnx.ReadOptions{})
	if err != nil {
		return nil, err
	}
	return mdl.Graph, nil
}

// itemNamed is the only graph input whose name starts with "item" (any
// case), or "" when there is not exactly one.
func itemNamed(g *onnx.Graph) string {
	var named []string
	for _, v := range g.Inputs {
		if strings.HasPrefix(strings.ToLower(v.Name), "item") {
			named = append(named, v.Name)
		}
	}
	if len(named) == 1 {
		return named[0]
	}
	return ""
}

// itemTensor is a float32 [N, d] table as the item input tensor.
func itemTensor(x []float32, shape []int) *onnx.Tensor {
	t := &onnx.Tensor{DType: onnx.Float32, Shape: append([]int(nil), shape...), Data: make([]float64, len(x))}
	for i, v := range x {
		t.Data[i] = float64(v)
	}
	return t
}

func contractOf(p *plan.Plan) ONNXContract {
	c := p.Contract()
	out := ONNXContract{ItemInput: c.ItemInput, ScoreOutput: c.ScoreOutput, UserInputs: []ONNXInput{}}
	for _, v := range p.UserInputs() {
		out.UserInputs = append(out.UserInputs, ONNXInput{Name: v.Name, DType: v.DType.String(), Shape: v.Shape.At(1)})
	}
	return out
}

func sameContract(a, b ONNXContract) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// checkItemIDs checks that ids has n distinct entries.
func checkItemIDs(ids []int64, n int, what string) error {
	if len(ids) != n {
		return fmt.Errorf("%s has %d ids for %d items", what, len(ids), n)
	}
	seen := make(map[int64]int, n)
	for i, id := range ids {
		if j, ok := seen[id]; ok {
			return fmt.Errorf("%s: id %d is at rows %d and %d; item ids must be distinct", what, id, j, i)
		}
		seen[id] = i
	}
	return nil
}

// ImportONNX writes an imported bundle version from an ONNX scoring
// network, its item table and ids, and an index (given or built), and
// returns its directory and manifest. Nothing is published unless the
// staged bundle passes OpenONNX.
func ImportONNX(ctx context.Context, o ImportOptions) (string, *ONNXManifest, error) {
	if err := o.Validate(); err != nil {
		return "", nil, fmt.Errorf("import: %w", err)
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	var (
		x     []float32
		shape []int
		items *onnx.Tensor
		err   error
	)
	if o.IndexEmbedding == "" {
		x, shape, err = npy.Read[float32](o.ItemEmbs)
		if err != nil {
			return "", nil, fmt.Errorf("import: item embeddings must be float32 [N, d], the vectors the index is built on (for an id or feature item input, name the item-only value of the graph to build it on: --index-embedding): %w", err)
		}
		if len(shape) != 2 || shape[0] == 0 || shape[1] == 0 {
			return "", nil, fmt.Errorf("import: item embeddings %s: shape %v, want float32 [N, d] with N, d > 0", o.ItemEmbs, shape)
		}
		if err := hnsw.CheckFinite(x, shape[1]); err != nil {
			return "", nil, fmt.Errorf("import: item embeddings %s: %w", o.ItemEmbs, err)
		}
		items = itemTensor(x, shape)
	}
	ids, idShape, err := npy.ReadInts(o.ItemIDs)
	if err != nil {
		return "", nil, fmt.Errorf("import: item ids: %w", err)
	}
	if len(idShape) != 1 {
		return "", nil, fmt.Errorf("import: item ids %s: shape %v, want [N]", o.ItemIDs, idShape)
	}
	g, err := readGraph(o.ONNX)
	if err != nil {
		return "", nil, fmt.Errorf("import: %w", err)
	}
	if o.Contract.ItemInput == "" && o.Contract.UserInputs == nil {
		o.Contract.ItemInput = itemNamed(g)
	}
	side := itemSide{g: g, c: o.Contract, items: items, main: items, desc: o.ItemEmbs, x: x, shape: shape}
	if err := side.prepare(&o, ids); err != nil {
		return "", nil, fmt.Errorf("import: %w", err)
	}
	x, shape, items = side.x, side.shape, side.main
	if err := checkItemIDs(ids, shape[0], "item ids "+o.ItemIDs+" (rows of "+side.desc+")"); err != nil {
		return "", nil, fmt.Errorf("import: %w", err)
	}
	p, err := plan.Compile(side.g, side.c, side.items, plan.Options{Float16Tables: o.Tables == "float16", MeasureTables: o.Tables == "auto"})
	if err != nil {
		return "", nil, fmt.Errorf("import: compiling %s over %s: %w", o.ONNX, side.desc, err)
	}
	ps := p.Stats()
	tables := "float32"
	if ps.Float16Tables {
		tables = "float16"
	}
	if ps.Tables.Measured {
		log.Info("import: item tables chosen by measurement", "tables", tables, "ns_per_item_float32", ps.Tables.NsPerItem[0], "ns_per_item_float16", ps.Tables.NsPerItem[1])
	}
	if err := ctx.Err(); err != nil {
		return "", nil, err
	}
	modelDir := filepath.Join(o.Base, o.Name)
	if err := os.MkdirAll(modelDir, 0o755); err != nil {
		return "", nil, fmt.Errorf("import: %w", err)
	}
	auto := o.Version == 0
	if auto {
		if o.Version, err = nextVersion(modelDir); err != nil {
			return "", nil, fmt.Errorf("import: %w", err)
		}
	} else if final := versionDir(modelDir, o.Version); exists(final) {
		return "", nil, fmt.Errorf("import: %s already exists; versions are immutable, pick another --version", final)
	}
	if _, err := safefile.CleanStale(modelDir, importStaging, log); err != nil {
		log.Warn("could not remove a stale import staging directory", "err", err)
	}
	st, err := safefile.NewStaging(filepath.Join(modelDir, importStaging))
	if err != nil {
		return "", nil, fmt.Errorf("import: %w", err)
	}
	start := time.Now()
	m := &ONNXManifest{Format: onnxFormatName, Version: onnxFormatVersion, Name: o.Name, ModelVer: o.Version,
		Contract: contractOf(p), NumItems: shape[0], ItemDim: shape[1], IndexEmbedding: o.IndexEmbedding,
		Tables: tables, TablesNsPerItem: ps.Tables.NsPerItem,
		Source: ImportSource{ONNX: o.ONNX, ItemEmbs: o.ItemEmbs, ItemIDs: o.ItemIDs, ItemFeatures: o.ItemFeatures, Index: o.IndexDir}}
	if len(side.featNames) > 0 {
		m.Contract.ItemInput, m.Contract.ItemFeatures = side.mainName, side.featNames
	}
	err = writeImport(ctx, o, st.Path, x, shape, items, side.features, ids, m, log)
	if err == nil {
		var b *ONNXBundle
		if b, err = OpenONNX(ctx, st.Path); err != nil {
			err = fmt.Errorf("the bundle imported from %s fails its checks, nothing was published: %w", o.ONNX, err)
		} else if serr := scoreCheck(b, p); serr != nil {
			err = fmt.Errorf("the bundle imported from %s scores differently once reloaded, nothing was published: %w", o.ONNX, serr)
		}
	}
	final := ""
	if err == nil {
		final, err = claimVersion(st.Path, modelDir, &m.ModelVer, auto, log, func() error { return m.write(st.Path) })
	}
	if err != nil {
		st.Abort()
		return "", nil, fmt.Errorf("import: %w", err)
	}
	st.Release()
	log.Info("imported", "dir", final, "version", m.ModelVer, "items", m.NumItems, "secs", time.Since(start).Seconds())
	return final, m, nil
}

func writeImport(ctx context.Context, o ImportOptions, dir string, x []float32, shape []int, items *onnx.Tensor, features map[string]*onnx.Tensor, ids []int64, m *ONNXManifest, log *slog.Logger) error {
	if err := copyFile(o.ONNX, filepath.Join(dir, ONNXModelFile)); err != nil {
		return err
	}
	if m.IndexEmbedding != "" {
		if err := writeItemInput(filepath.Join(dir, ONNXItemInputFile), items); err != nil {
			return err
		}
	}
	for k, name := range m.Contract.ItemFeatures {
		if err := writeItemInput(filepath.Join(dir, itemFeatureFile(k)), features[name]); err != nil {
			return err
		}
	}
	if err := npy.Write(filepath.Join(dir, ONNXItemEmbsFile), x, shape...); err != nil {
		return err
	}
	if err := npy.Write(filepath.Join(dir, ItemIDsFile), ids); err != nil {
		return err
	}
	if o.IndexDir != "" {
		if err := copyIndex(o.IndexDir, filepath.Join(dir, "index"), shape[0], log); err != nil {
			return err
		}
	} else {
		log.Info("import: building the index", "n", shape[0], "dim", shape[1], "M", o.Index.M, "efConstruction", o.Index.EfConstruction)
		gr, err := hnsw.Build(ctx, x, shape[1], o.Index, nil)
		if err != nil {
			return err
		}
		idx := filepath.Join(dir, "index")
		if err := os.MkdirAll(idx, 0o755); err != nil {
			return err
		}
		if err := gr.Write(filepath.Join(idx, hnsw.GraphFile)); err != nil {
			return err
		}
		if err := gr.WriteNPY(idx, hnsw.StartLevel); err != nil {
			return err
		}
	}
	tmp := &Manifest{}
	if err := checksums(dir, tmp); err != nil {
		return err
	}
	m.Files, m.Created = tmp.Files, time.Now().UTC()
	return m.write(dir)
}

// scoreCheck compares the reloaded bundle's plan with the one compiled
// from the inputs on a few items for a zero user: the bundle holds the
// network and table that were given.
func scoreCheck(b *ONNXBundle, p *plan.Plan) error {
	user := map[string]*onnx.Tensor{}
	for _, v := range p.UserInputs() {
		user[v.Name] = onnx.NewTensor(v.DType, v.Shape.At(1)...)
	}
	rows := []item.Row{0, item.Row(p.NumItems() - 1), item.Row(p.NumItems() / 2)}
	var got [2][3]float32
	for i, q := range []*plan.Plan{p, b.Plan} {
		sc := q.NewScorer()
		if err := sc.Bind(user); err != nil {
			return err
		}
		if err := sc.Score(rows, got[i][:]); err != nil {
			return err
		}
	}
	for j := range rows {
		a, c := float64(got[0][j]), float64(got[1][j])
		if math.Abs(a-c) > 1e-6*math.Max(1, math.Abs(a)) && !(math.IsNaN(a) && math.IsNaN(c)) {
			return fmt.Errorf("item row %d: %g before, %g after", rows[j], a, c)
		}
	}
	return nil
}
