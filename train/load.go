package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"nann/internal/meter"
	"nann/internal/npy"
	"nann/internal/parallel"
	"nann/internal/safefile"
	"nann/item"
	"nann/model"
)

// ReadRunConfig reads RUN/config.json: the model and training configuration.
func ReadRunConfig(runDir string) (model.Config, Config, error) {
	path := filepath.Join(runDir, configFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return model.Config{}, Config{}, fmt.Errorf("run %s: %w", runDir, err)
	}
	var rf runFile
	if err := json.Unmarshal(b, &rf); err != nil {
		return model.Config{}, Config{}, fmt.Errorf("%s: %w", path, err)
	}
	if rf.Format != runFormat || rf.Version != 1 {
		return model.Config{}, Config{}, fmt.Errorf("%s: format %q version %d, want %q version 1", path, rf.Format, rf.Version, runFormat)
	}
	rf.Train.RunDir = runDir
	return rf.Model, rf.Train, nil
}

// LoadModel loads a run's trained model for inference: RUN/model.ckpt,
// or, if training has not finished, the newest valid checkpoint (with a
// warning).
func LoadModel(runDir string) (*model.Model, error) { return loadModel(runDir, nil) }

// loadModel is LoadModel warning on log (nil: no warning).
func loadModel(runDir string, log *slog.Logger) (*model.Model, error) {
	mc, tc, err := ReadRunConfig(runDir)
	if err != nil {
		return nil, err
	}
	m, err := model.New(mc, tc.Seed)
	if err != nil {
		return nil, fmt.Errorf("run %s: model: %w", runDir, err)
	}
	path := filepath.Join(runDir, modelFile)
	c, err := readCheckpoint(path)
	if err == nil {
		if err := c.loadParams(m.Params(), m.State(), nil); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return m, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	c, p, err := newestCheckpoint(runDir, log, func(c *Checkpoint) error { return c.loadParams(m.Params(), m.State(), nil) })
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, fmt.Errorf("run %s: no %s and no usable checkpoint (has it been trained?)", runDir, modelFile)
	}
	meter.Logger(log).Warn("training has not finished; using the newest checkpoint", "file", p, "step", c.Step)
	return m, nil
}

// extractChunk is the number of items per ItemEmbeddings call.
const extractChunk = 4096

// Extract runs the item network in inference mode over every item (dense
// ids 1..N in order) and writes outDir/item_ids.npy (int64 dense ids; row r
// is id r+1) and outDir/item_embs.npy (float32 N×dim), each atomically.
// progress, if not nil, is called with stage "item embeddings" and the items
// done and in all, possibly from several goroutines at once.
func Extract(ctx context.Context, m *model.Model, itemCate item.ByID[int32], dim int, outDir string, progress meter.Func) (int, error) {
	embs, err := itemTable(ctx, m, itemCate, dim, progress)
	if err != nil {
		return 0, err
	}
	n := itemCate.Len()
	ids := make([]int64, n)
	for r := range ids {
		ids[r] = int64(item.Row(r).ID())
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return 0, err
	}
	if err := npy.Write(filepath.Join(outDir, ItemIDsFile), ids); err != nil {
		return 0, err
	}
	if err := npy.Write(filepath.Join(outDir, ItemEmbsFile), embs, n, dim); err != nil {
		return 0, err
	}
	return n, safefile.SyncDir(outDir)
}

// itemTable computes the inference item embeddings of dense ids 1..N
// (itemCate is each id's category) in parallel, by item row, dim wide.
func itemTable(ctx context.Context, m *model.Model, itemCate item.ByID[int32], dim int, progress meter.Func) ([]float32, error) {
	n := itemCate.Len()
	if n < 1 {
		return nil, errors.New("no items")
	}
	if int64(n)*int64(dim)*4 > 64<<30 {
		return nil, fmt.Errorf("%d items × %d floats is too large", n, dim)
	}
	items := item.AllIDs(n)
	cates := itemCate.Rows()
	embs := make([]float32, n*dim)
	bar := meter.New(progress, "item embeddings", int64(n))
	chunks := (n + extractChunk - 1) / extractChunk
	err := parallel.For(ctx, chunks, 0, func(_ context.Context, c int) error {
		lo := c * extractChunk
		hi := min(lo+extractChunk, n)
		if err := m.ItemEmbeddings(items[lo:hi], cates[lo:hi], embs[lo*dim:hi*dim]); err != nil {
			return fmt.Errorf("item embeddings of ids %d..%d: %w", lo+1, hi, err)
		}
		bar.Add(int64(hi - lo))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return embs, nil
}
