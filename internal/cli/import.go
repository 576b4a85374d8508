package cli

import (
	"fmt"
	"path/filepath"

	"nann/bundle"
	"nann/plan"
)

// ImportCmd writes a bundle version from an ONNX scoring network: the
// model, its item table and ids, and an HNSW index over the table.
type ImportCmd struct {
	ONNX           string            `name:"onnx" required:"" help:"The scoring network (.onnx): user-side inputs, one item-side input (more with --item-feature), one score output ([n] or [n,1])." type:"existingfile"`
	ItemEmbs       string            `name:"item-embs" help:"Item table: an .npy with one row per item, the model's item input for every item. Without --index-embedding float32 [N, d], the vectors the index is built on; with it any dtype and shape the item input declares (ids, features). Default with --index-embedding and an integer [n] item input: the --item-ids." type:"existingfile"`
	ItemIDs        string            `name:"item-ids" required:"" help:"Item ids: int32/int64 [N] .npy, the id of each item row (distinct)." type:"existingfile"`
	ItemFeatures   map[string]string `name:"item-feature" placeholder:"INPUT=FILE" help:"A further item-side input of the model and its table (.npy, one row per item, the dtype and shape the input declares), e.g. item_cate=cates.npy; repeatable. The model is compiled with each item-side input looked up by the item's row."`
	IndexEmbedding string            `name:"index-embedding" help:"Build the index on this item-only value of the graph (a node output, e.g. an item network's output over ids or features), computed for every item at import, instead of on the item input."`
	ItemInput      string            `name:"item-input" help:"Name of the model's item-side input (default: the only input not in --user-inputs)."`
	UserInputs     []string          `name:"user-inputs" help:"Names of the model's user-side inputs, comma-separated (default: every input but the item input)."`
	ScoreOutput    string            `name:"score-output" help:"Name of the score output (default: the only graph output)."`
	Index          string            `help:"Index directory over the index vectors (--item-embs, or the --index-embedding value; nann index); default: build one." type:"existingdir"`
	Base           string            `required:"" help:"Base path: the bundle goes to BASE/NAME/VERSION."`
	Name           string            `default:"${export_name}" help:"Model name."`
	Version        int64             `help:"Model version (0: one above the newest present)."`
	M              int               `help:"When building the index: links per node on levels >= 1." default:"${index_m}"`
	EfConstruction int               `name:"ef-construction" help:"When building the index: beam width while building." default:"${index_ef_construction}"`
	Seed           uint64            `help:"When building the index: seed of the level assignment." default:"${index_seed}"`
	Tables         string            `help:"Item-table precision of the compiled plan: auto (float16 unless measured slower at import), float32 or float16." default:"auto" enum:"auto,float32,float16"`
	JSON           bool              `name:"json" help:"Print the manifest as JSON."`
}

// Run imports the model.
func (c *ImportCmd) Run(g *Globals) error {
	o := bundle.DefaultImportOptions()
	o.ONNX, o.ItemEmbs, o.ItemIDs, o.IndexDir, o.Base, o.Name, o.Version = c.ONNX, c.ItemEmbs, c.ItemIDs, c.Index, c.Base, c.Name, c.Version
	o.IndexEmbedding, o.ItemFeatures = c.IndexEmbedding, c.ItemFeatures
	o.Contract = plan.Contract{UserInputs: c.UserInputs, ItemInput: c.ItemInput, ScoreOutput: c.ScoreOutput}
	o.Index.M, o.Index.EfConstruction, o.Index.Seed = c.M, c.EfConstruction, c.Seed
	o.Tables = c.Tables
	dir, m, err := bundle.ImportONNX(g.Context(), o)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(g.Stdout(), importReport{dir, m})
	}
	var bytes int64
	for _, f := range m.Files {
		bytes += f.Bytes
	}
	fmt.Fprintf(g.Stdout(), "imported %s: model %s version %d, %d items × %d, %s item tables, %d files, %.1f MB\n",
		dir, m.Name, m.ModelVer, m.NumItems, m.ItemDim, m.Tables, len(m.Files), float64(bytes)/1e6)
	if ns := m.TablesNsPerItem; ns != [2]float64{} {
		fmt.Fprintf(g.Stdout(), "  item tables measured at import: float32 %.0f ns/item, float16 %.0f ns/item (one core)\n", ns[0], ns[1])
	}
	for _, in := range m.Contract.UserInputs {
		fmt.Fprintf(g.Stdout(), "  user input %s: %s %v\n", in.Name, in.DType, in.Shape)
	}
	fmt.Fprintf(g.Stdout(), "  item input %s, score %s\n", m.Contract.ItemInput, m.Contract.ScoreOutput)
	if len(m.Contract.ItemFeatures) > 0 {
		fmt.Fprintf(g.Stdout(), "  item features %v\n", m.Contract.ItemFeatures)
	}
	if m.IndexEmbedding != "" {
		fmt.Fprintf(g.Stdout(), "  index built on the graph's item-only value %s (%d wide)\n", m.IndexEmbedding, m.ItemDim)
	}
	fmt.Fprintf(g.Stdout(), "serve it with nann serve --model_base_path %s --model_name %s (named inputs: the user inputs above, and level_topn); measure it with nann eval --bundle and nann bench --inputs npz:USERS\n", filepath.Dir(dir), m.Name)
	return nil
}

// importReport is nann import's --json output.
type importReport struct {
	Dir      string               `json:"dir"`
	Manifest *bundle.ONNXManifest `json:"manifest"`
}
