package train

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"nann/dataset"
	"nann/engine"
	"nann/model"
)

// File names inside a run directory.
const (
	// ConfigFile is RUN/config.json: the model and training configuration.
	ConfigFile = configFile
	// ModelFile is RUN/model.ckpt: the trained parameters.
	ModelFile = modelFile
	// ReportFile is RUN/report.json: the end-of-training report.
	ReportFile = "report.json"
	// ItemIDsFile and ItemEmbsFile are what Extract writes: the dense item
	// ids (int64) and the item network's embeddings (float32 N×d).
	ItemIDsFile  = "item_ids.npy"
	ItemEmbsFile = "item_embs.npy"
)

// RunDir is a trained (or training) run directory opened for use: its
// configuration, its checkpoint and the dataset it was trained on.
type RunDir struct {
	Dir   string
	Log   *slog.Logger // warnings (nil: none); see LoadModel
	Model model.Config // the model's configuration
	Train Config       // the training configuration; Train.Data is the dataset
}

// OpenRun reads RUN/config.json of the run in dir.
func OpenRun(dir string) (*RunDir, error) {
	mc, tc, err := ReadRunConfig(dir)
	if err != nil {
		return nil, err
	}
	return &RunDir{Dir: dir, Model: mc, Train: tc}, nil
}

// DatasetPath is data if not empty, else the dataset the run was trained on.
func (r *RunDir) DatasetPath(data string) string {
	if data != "" {
		return data
	}
	return r.Train.Data
}

// EmbeddingsPath is where Extract writes the item embeddings by default.
func (r *RunDir) EmbeddingsPath() string { return filepath.Join(r.Dir, ItemEmbsFile) }

// OpenDataset opens the dataset at data (the run's if empty) and checks that
// it has the run model's number of items.
func (r *RunDir) OpenDataset(data string, opt dataset.OpenOptions) (*dataset.Dataset, error) {
	path := r.DatasetPath(data)
	ds, err := dataset.Open(path, opt)
	if err != nil {
		return nil, err
	}
	if ds.Meta.NumItems != r.Model.NumItems {
		ds.Close()
		return nil, fmt.Errorf("dataset %s has %d items, the model of run %s %d", path, ds.Meta.NumItems, r.Dir, r.Model.NumItems)
	}
	return ds, nil
}

// LoadModel loads the run's trained model (see the function LoadModel).
func (r *RunDir) LoadModel() (*model.Model, error) { return loadModel(r.Dir, r.Log) }

// CompileEngine compiles m (the run's trained model) over the items of ds
// into the fast scorer; the caller closes it.
func CompileEngine(m *model.Model, ds *dataset.Dataset, opt engine.Options) (*engine.Engine, error) {
	w, err := engine.FromModel(m)
	if err != nil {
		return nil, err
	}
	return engine.Compile(w, ds.ItemCate.Rows(), opt)
}
