package bundle

import (
	"context"
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
	"nann/item"
	"nann/serving"
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
	// MaxLevelTopN is the bound the server puts on every level_topn value
	// (its --max_level_topn, default 10000): a default above it is refused.
	MaxLevelTopN int
	// Log receives the export's log lines (nil: slog.Default()).
	Log *slog.Logger
}

// exportStaging names the hidden staging directories of exports under a
// model directory (".export.nann-staging-DIGITS", locked while in use):
// an interrupted export's is removed by the next export into the same
// model directory.
const exportStaging = "export"

// DefaultExportOptions are the reference's serving defaults.
func DefaultExportOptions() ExportOptions {
	return ExportOptions{Name: "nann", K: 200, LevelTopN: [6]int32{100, 200, 200, 200, 200, 200},
		MaxLevelTopN: serving.DefaultMaxLevelTopN}
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
	if o.MaxLevelTopN < 1 {
		errs = append(errs, fmt.Errorf("max level_topn %d must be positive", o.MaxLevelTopN))
	}
	if err := serving.CheckLevelTopN("level_topn", o.LevelTopN, o.MaxLevelTopN); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Export compiles a trained run into a serving bundle and returns its
// directory. The bundle is written into a hidden staging directory and then
// renamed onto its version directory only if that name is still free
// (safefile.RenameNoReplace), so versions are immutable: with Version 0
// an export that loses the number to a concurrent one takes the next free
// number; with an explicit Version it fails.
func Export(ctx context.Context, o ExportOptions) (string, *Manifest, error) {
	if err := o.Validate(); err != nil {
		return "", nil, fmt.Errorf("export: %w", err)
	}
	modelDir := filepath.Join(o.Base, o.Name)
	if err := os.MkdirAll(modelDir, 0o755); err != nil {
		return "", nil, fmt.Errorf("export: %w", err)
	}
	auto := o.Version == 0
	if auto {
		v, err := nextVersion(modelDir)
		if err != nil {
			return "", nil, fmt.Errorf("export: %w", err)
		}
		o.Version = v
	} else if final := versionDir(modelDir, o.Version); exists(final) {
		return "", nil, fmt.Errorf("export: %s already exists; versions are immutable, pick another --version", final)
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	log := o.Log
	if _, err := safefile.CleanStale(modelDir, exportStaging, log); err != nil {
		log.Warn("could not remove a stale export staging directory", "err", err)
	}
	st, err := safefile.NewStaging(filepath.Join(modelDir, exportStaging))
	if err != nil {
		return "", nil, fmt.Errorf("export: %w", err)
	}
	staging := st.Path
	start := time.Now()
	m, err := build(ctx, o, staging)
	if err == nil {
		err = check(ctx, staging, m.Source)
	}
	final := ""
	if err == nil {
		final, err = claim(staging, modelDir, m, auto, log)
	}
	if err != nil {
		st.Abort()
		return "", nil, fmt.Errorf("export: %w", err)
	}
	st.Release()
	log.Info("exported", "dir", final, "version", m.ModelVer, "items", m.NumItems, "precision", m.Precision, "secs", time.Since(start).Seconds())
	return final, m, nil
}

// check runs on the staged bundle exactly the validation that the server's
// Load runs, so that export never publishes a version the server refuses.
func check(ctx context.Context, dir string, src Source) error {
	b, err := Open(ctx, dir)
	if err != nil {
		return fmt.Errorf("the bundle built from run %s, index %s and dataset %s fails the serving checks, nothing was published: %w", src.Run, src.Index, src.Dataset, err)
	}
	return b.Close()
}

func versionDir(modelDir string, v int64) string {
	return filepath.Join(modelDir, strconv.FormatInt(v, 10))
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// nextVersion is one above the newest version under modelDir (1 if none).
func nextVersion(modelDir string) (int64, error) {
	vs, err := serving.ListVersions(modelDir)
	if err != nil {
		return 0, err
	}
	if len(vs) == 0 {
		return 1, nil
	}
	return vs[0] + 1, nil
}

// maxClaims bounds how many version numbers an export tries before it
// gives up (each loss means another export claimed that number meanwhile).
const maxClaims = 100

// claim renames the complete bundle in staging onto its version directory,
// which must not exist. If auto, a number taken meanwhile (by a concurrent
// export, or anything else now at that name) makes it rewrite the
// manifest with the next free number and try again.
func claim(staging, modelDir string, m *Manifest, auto bool, log *slog.Logger) (string, error) {
	return claimVersion(staging, modelDir, &m.ModelVer, auto, log, func() error { return writeManifest(staging, m) })
}

func build(ctx context.Context, o ExportOptions, dir string) (*Manifest, error) {
	run, err := train.OpenRun(o.RunDir)
	if err != nil {
		return nil, err
	}
	run.Log = o.Log // the warning that training has not finished
	o.Data = run.DatasetPath(o.Data)
	ds, err := run.OpenDataset(o.Data, dataset.OpenOptions{})
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	mdl, err := run.LoadModel()
	if err != nil {
		return nil, err
	}
	eng, err := train.CompileEngine(mdl, ds, engine.Options{Table: o.Precision})
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m := &Manifest{Name: o.Name, ModelVer: o.Version, Source: Source{Run: o.RunDir, Index: o.IndexDir, Dataset: o.Data}}
	m.Signature.K, m.Signature.DefaultLevelTopN = o.K, o.LevelTopN
	if err := checkSignature(m.Signature, eng.NumItems()); err != nil {
		return nil, err
	}
	tables := idTables{itemRaw: ds.ItemRaw.Rows(), cateRaw: ds.CateRaw, itemCate: ds.ItemCate.Rows()}
	if err := write(dir, eng, o.IndexDir, tables, m, o.Log); err != nil {
		return nil, err
	}
	return m, nil
}

// idTables map item rows and dense categories to original ids.
type idTables struct {
	itemRaw  item.ByRow[int64] // item row → original id, ascending
	cateRaw  []int64           // dense category → original id ([0] = 0)
	itemCate item.ByRow[int32] // item row → dense category
}

// write fills dir with a complete bundle: the engine, a copy of the index,
// the id tables and, last, the manifest with every file's checksum. m
// brings the name, version, source, K and default level_topn.
func write(dir string, eng *engine.Engine, indexDir string, t idTables, m *Manifest, log *slog.Logger) error {
	if err := eng.Save(filepath.Join(dir, "engine")); err != nil {
		return err
	}
	if err := copyIndex(indexDir, filepath.Join(dir, "index"), eng.NumItems(), log); err != nil {
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
	return writeManifest(dir, m)
}

// writeManifest sets m's own checksum and writes m as dir/manifest.json.
func writeManifest(dir string, m *Manifest) error { return writeSummed(dir, m) }

// copyIndex copies the graph (checking it) and its reference NumPy
// layout; if the index directory lacks a layout file, the layout is written
// from the graph instead.
func copyIndex(src, dst string, numItems int, log *slog.Logger) error {
	g, err := hnsw.Read(filepath.Join(src, hnsw.GraphFile))
	if err != nil {
		return err
	}
	if g.Len() != numItems {
		return fmt.Errorf("index %s has %d nodes, the model has %d items", src, g.Len(), numItems)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	if err := copyFile(filepath.Join(src, hnsw.GraphFile), filepath.Join(dst, hnsw.GraphFile)); err != nil {
		return err
	}
	for _, f := range layoutFiles() {
		name := filepath.Base(f)
		if _, err := os.Stat(filepath.Join(src, name)); err != nil {
			log.Warn("index directory lacks a file of the reference NumPy layout; writing the layout from the graph", "index", src, "file", name, "err", err)
			return g.WriteNPY(dst, hnsw.StartLevel)
		}
	}
	for _, f := range layoutFiles() {
		name := filepath.Base(f)
		if err := copyFile(filepath.Join(src, name), filepath.Join(dst, name)); err != nil {
			return err
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
