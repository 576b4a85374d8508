package bundle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"nann/dataset"
	"nann/engine"
	"nann/hnsw"
	"nann/internal/npy"
	"nann/internal/safefile"
	"nann/server"
	"nann/train"
)

// ExportOptions controls Export. Start from DefaultExportOptions.
type ExportOptions struct {
	RunDir   string // trained run (nann train)
	IndexDir string // index directory (nann index)
	Data     string // prepared dataset (default: the run's)
	Base     string // bundles go to Base/Name/Version
	Name     string // model name ("nann")
	// Version is the model version; 0 means one above the newest present.
	Version   int64
	Precision engine.Precision // item-table precision (float32)
	K         int              // default answer size (200)
	LevelTopN [6]int32         // default level_topn ([100, 200, 200, 200, 200, 200])
}

// DefaultExportOptions are the reference's serving defaults.
func DefaultExportOptions() ExportOptions {
	return ExportOptions{Name: "nann", K: 200, LevelTopN: [6]int32{100, 200, 200, 200, 200, 200}}
}

// Validate reports every problem at once.
func (o ExportOptions) Validate() error {
	var errs []error
	if o.RunDir == "" {
		errs = append(errs, errors.New("run directory is empty"))
	}
	if o.IndexDir == "" {
		errs = append(errs, errors.New("index directory is empty"))
	}
	if o.Base == "" {
		errs = append(errs, errors.New("base path is empty"))
	}
	if o.Name == "" || o.Name != filepath.Base(o.Name) || o.Name[0] == '.' {
		errs = append(errs, fmt.Errorf("model name %q must be a plain directory name", o.Name))
	}
	if o.Version < 0 {
		errs = append(errs, fmt.Errorf("version %d must not be negative", o.Version))
	}
	if o.K < 1 {
		errs = append(errs, fmt.Errorf("k %d must be positive", o.K))
	}
	for i, v := range o.LevelTopN {
		if v < 1 {
			errs = append(errs, fmt.Errorf("level_topn[%d] = %d must be positive", i, v))
		}
	}
	return errors.Join(errs...)
}

// Export compiles a trained run into a serving bundle and returns its
// directory.
func Export(ctx context.Context, o ExportOptions) (string, *Manifest, error) {
	if err := o.Validate(); err != nil {
		return "", nil, fmt.Errorf("export: %w", err)
	}
	modelDir := filepath.Join(o.Base, o.Name)
	if err := os.MkdirAll(modelDir, 0o755); err != nil {
		return "", nil, fmt.Errorf("export: %w", err)
	}
	if o.Version == 0 {
		vs, err := server.ListVersions(modelDir)
		if err != nil {
			return "", nil, fmt.Errorf("export: %w", err)
		}
		o.Version = 1
		if len(vs) > 0 {
			o.Version = vs[0] + 1
		}
	}
	final := filepath.Join(modelDir, strconv.FormatInt(o.Version, 10))
	if _, err := os.Stat(final); err == nil {
		return "", nil, fmt.Errorf("export: %s already exists; versions are immutable, pick another --version", final)
	}
	staging, err := os.MkdirTemp(modelDir, ".export-*")
	if err != nil {
		return "", nil, fmt.Errorf("export: %w", err)
	}
	m, err := build(ctx, o, staging)
	if err == nil {
		err = safefile.ReplaceDir(staging, final)
	}
	if err != nil {
		os.RemoveAll(staging)
		return "", nil, fmt.Errorf("export: %w", err)
	}
	return final, m, nil
}

func build(ctx context.Context, o ExportOptions, dir string) (*Manifest, error) {
	start := time.Now()
	_, tc, err := train.ReadRunConfig(o.RunDir)
	if err != nil {
		return nil, err
	}
	if o.Data == "" {
		o.Data = tc.Data
	}
	ds, err := dataset.Open(o.Data, dataset.OpenOptions{})
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	mdl, err := train.LoadModel(o.RunDir)
	if err != nil {
		return nil, err
	}
	w, err := engine.FromModel(mdl)
	if err != nil {
		return nil, err
	}
	eng, err := engine.Compile(w, ds.ItemCate[1:], engine.Options{Table: o.Precision})
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m := &Manifest{Name: o.Name, ModelVer: o.Version, Source: Source{Run: o.RunDir, Index: o.IndexDir, Dataset: o.Data}}
	m.Signature.K, m.Signature.DefaultLevelTopN = o.K, o.LevelTopN
	tables := idTables{itemRaw: ds.ItemRaw[1:], cateRaw: ds.CateRaw, itemCate: ds.ItemCate[1:]}
	if err := write(dir, eng, o.IndexDir, tables, m); err != nil {
		return nil, err
	}
	slog.Info("exported", "version", o.Version, "items", m.NumItems, "precision", m.Precision, "secs", time.Since(start).Seconds())
	return m, nil
}

// idTables map item rows and dense categories to original ids.
type idTables struct {
	itemRaw  []int64 // item row → original id, ascending
	cateRaw  []int64 // dense category → original id ([0] = 0)
	itemCate []int32 // item row → dense category
}

// write fills dir with a complete bundle: the engine, a copy of the index,
// the id tables and, last, the manifest with every file's checksum. m
// brings the name, version, source, K and default level_topn.
func write(dir string, eng *engine.Engine, indexDir string, t idTables, m *Manifest) error {
	if err := eng.Save(filepath.Join(dir, "engine")); err != nil {
		return err
	}
	if err := copyIndex(indexDir, filepath.Join(dir, "index"), eng.NumItems()); err != nil {
		return err
	}
	if err := npy.Write(filepath.Join(dir, "item_raw_ids.npy"), t.itemRaw); err != nil {
		return err
	}
	if err := npy.Write(filepath.Join(dir, "cate_raw_ids.npy"), t.cateRaw); err != nil {
		return err
	}
	if err := npy.Write(filepath.Join(dir, "item_cate.npy"), t.itemCate); err != nil {
		return err
	}
	c := eng.Config()
	m.Format, m.Version, m.Created = formatName, formatVersion, time.Now().UTC()
	m.Signature.Name, m.Signature.Aliases = "serving_default", []string{"predict"}
	m.Signature.SeqLen, m.Signature.SeqWidth = c.SeqLen, c.SeqWidth()
	m.Precision, m.NumItems = eng.Precision().String(), eng.NumItems()
	if err := checksums(dir, m); err != nil {
		return err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return safefile.WriteBytes(filepath.Join(dir, manifestFile), append(b, '\n'))
}

// copyIndex copies the graph (checking it) and its NumPy layout.
func copyIndex(src, dst string, numItems int) error {
	g, err := hnsw.Read(filepath.Join(src, "graph.hnsw"))
	if err != nil {
		return err
	}
	if g.Len() != numItems {
		return fmt.Errorf("index %s has %d nodes, the model has %d items", src, g.Len(), numItems)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type().IsRegular() && (e.Name() == "graph.hnsw" || filepath.Ext(e.Name()) == ".npy") {
			if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return safefile.Write(dst, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}
