package cli

import (
	"fmt"
	"path/filepath"

	"nann/bundle"
	"nann/engine"
)

// ExportCmd compiles a trained run and its index into a serving bundle.
type ExportCmd struct {
	RunDir       string  `name:"run" required:"" help:"Trained run directory (nann train)."`
	Index        string  `required:"" help:"Index directory (nann index)." type:"existingdir"`
	Data         string  `help:"Prepared dataset (default: the run's)."`
	Base         string  `required:"" help:"Base path: the bundle goes to BASE/NAME/VERSION."`
	Name         string  `default:"${export_name}" help:"Model name."`
	Version      int64   `help:"Model version (0: one above the newest present)."`
	Precision    string  `default:"${export_precision}" enum:"float32,float16" help:"Item-table precision of the engine."`
	K            int     `default:"${export_k}" help:"Default answer size."`
	LevelTopN    []int32 `name:"level-topn" default:"${export_level_topn}" help:"Default level_topn (6 values), each at most the corpus size and --max-level-topn."`
	MaxLevelTopN int     `name:"max-level-topn" default:"${export_max_level_topn}" help:"The serving bound on level_topn values (nann serve --max_level_topn; 0: its default)."`
	JSON         bool    `name:"json" help:"Print the manifest as JSON."`
}

// Run exports the bundle.
func (c *ExportCmd) Run(g *Globals) error {
	o := bundle.DefaultExportOptions()
	o.RunDir, o.IndexDir, o.Data, o.Base, o.Name, o.Version, o.K = c.RunDir, c.Index, c.Data, c.Base, c.Name, c.Version, c.K
	if len(c.LevelTopN) != 6 {
		return fmt.Errorf("--level-topn has %d values, want 6", len(c.LevelTopN))
	}
	copy(o.LevelTopN[:], c.LevelTopN)
	if c.MaxLevelTopN != 0 {
		o.MaxLevelTopN = c.MaxLevelTopN
	}
	if c.Precision == "float16" {
		o.Precision = engine.Float16
	}
	dir, m, err := bundle.Export(g.Context(), o)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(g.Stdout(), struct {
			Dir      string           `json:"dir"`
			Manifest *bundle.Manifest `json:"manifest"`
		}{dir, m})
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
