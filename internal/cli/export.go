package cli

import (
	"fmt"
	"path/filepath"

	"nann/bundle"
	"nann/engine"
	"nann/model"
)

// ExportCmd compiles a trained run and its index into a serving bundle,
// and/or writes its scoring network as an ONNX model (--onnx).
type ExportCmd struct {
	RunDir       string  `name:"run" required:"" help:"Trained run directory (nann train)."`
	Index        string  `help:"Index directory (nann index); required for a bundle." type:"existingdir"`
	Data         string  `help:"Prepared dataset (default: the run's)."`
	Base         string  `help:"Base path: the bundle goes to BASE/NAME/VERSION; required for a bundle."`
	ONNXOut      string  `name:"onnx" help:"Also (or, without --index and --base, only) write the scoring network as an ONNX model in nann import's contract (opset 13, inference BatchNorm) to this file." placeholder:"FILE"`
	ONNXInputs   string  `name:"onnx-inputs" default:"comm_seq" enum:"comm_seq,ids,item_ids" help:"Inputs of the --onnx graph: comm_seq (comm_seq [n,L,64] + item_emb [n,64], as nann_torch's export), ids (hist_items/hist_cates int64 [n,L] + item_emb), item_ids (hist ids + item_id int64 [n], the item network inside the graph; import with --index-embedding item_vec)."`
	Name         string  `default:"${export_name}" help:"Model name."`
	Version      int64   `help:"Model version (0: one above the newest present)."`
	Precision    string  `default:"${export_precision}" enum:"float32,float16,int8" help:"Item-table precision of the engine (int8: float16 table plus 8-bit codes, scored with AVX-512 VNNI integer kernels where the CPU has them)."`
	K            int     `default:"${export_k}" help:"Default answer size."`
	LevelTopN    []int32 `name:"level-topn" default:"${export_level_topn}" help:"Default level_topn (6 values), each at most the corpus size and --max-level-topn."`
	MaxLevelTopN int     `name:"max-level-topn" default:"${export_max_level_topn}" help:"The serving bound on level_topn values (nann serve --max_level_topn; 0: its default)."`
	JSON         bool    `name:"json" help:"Print the manifest as JSON."`
}

// Run exports the bundle and/or the ONNX model.
func (c *ExportCmd) Run(g *Globals) error {
	var onnxRep *bundle.ONNXExport
	if c.ONNXOut != "" {
		o := bundle.ONNXExportOptions{RunDir: c.RunDir, Data: c.Data, Out: c.ONNXOut, Inputs: model.ONNXInputs(c.ONNXInputs)}
		var err error
		if onnxRep, err = bundle.ExportONNX(g.Context(), o); err != nil {
			return err
		}
		if c.Index == "" && c.Base == "" {
			if c.JSON {
				return writeJSON(g.Stdout(), onnxRep)
			}
			printONNXExport(g, onnxRep)
			return nil
		}
	}
	if c.Index == "" || c.Base == "" {
		return fmt.Errorf("a bundle needs --index and --base (--onnx FILE alone writes only the ONNX model)")
	}
	o := bundle.DefaultExportOptions()
	o.RunDir, o.IndexDir, o.Data, o.Base, o.Name, o.Version, o.K = c.RunDir, c.Index, c.Data, c.Base, c.Name, c.Version, c.K
	if len(c.LevelTopN) != 6 {
		return fmt.Errorf("--level-topn has %d values, want 6", len(c.LevelTopN))
	}
	copy(o.LevelTopN[:], c.LevelTopN)
	if c.MaxLevelTopN != 0 {
		o.MaxLevelTopN = c.MaxLevelTopN
	}
	switch c.Precision {
	case "float16":
		o.Precision = engine.Float16
	case "int8":
		o.Precision = engine.Int8
	}
	dir, m, err := bundle.Export(g.Context(), o)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(g.Stdout(), struct {
			Dir      string             `json:"dir"`
			Manifest *bundle.Manifest   `json:"manifest"`
			ONNX     *bundle.ONNXExport `json:"onnx,omitempty"`
		}{dir, m, onnxRep})
	}
	if onnxRep != nil {
		printONNXExport(g, onnxRep)
	}
	var bytes int64
	for _, f := range m.Files {
		bytes += f.Bytes
	}
	fmt.Fprintf(g.Stdout(), "exported %s: model %s version %d, %d items, %s tables, %d files, %.1f MB\n",
		dir, m.Name, m.ModelVer, m.NumItems, m.Precision, len(m.Files), float64(bytes)/1e6)
	fmt.Fprintf(g.Stdout(), "serve it with: nann serve --model_name %s --model_base_path %s\n", m.Name, dirOf(dir))
	return nil
}

func dirOf(versionDir string) string { return filepath.Dir(versionDir) }

func printONNXExport(g *Globals, r *bundle.ONNXExport) {
	fmt.Fprintf(g.Stdout(), "wrote %s: ONNX opset %d, %.1f MB; user inputs %v, item input %s, score %s\n",
		r.Path, r.Opset, float64(r.Bytes)/1e6, r.UserInputs, r.ItemInput, r.ScoreOutput)
	if r.IndexEmbedding != "" {
		fmt.Fprintf(g.Stdout(), "import it with: nann import --onnx %s --item-ids ITEM_IDS.npy --index-embedding %s --base BASE\n", r.Path, r.IndexEmbedding)
	} else {
		fmt.Fprintf(g.Stdout(), "import it with: nann import --onnx %s --item-embs ITEM_EMBS.npy --item-ids ITEM_IDS.npy --base BASE\n", r.Path)
	}
}
