package bundle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"nann/dataset"
	"nann/model"
	"nann/onnx"
	"nann/train"
)

// ONNXExportOptions controls ExportONNX.
type ONNXExportOptions struct {
	RunDir string // trained run (nann train)
	Data   string // prepared dataset (default: the run's); read for ONNXItemIDs only
	Out    string // the .onnx file to write
	// Inputs selects the graph's inputs (model.ONNXCommSeq by default).
	Inputs model.ONNXInputs
	// Log receives the export's warnings (nil: slog.Default()).
	Log *slog.Logger
}

// Validate reports every problem at once.
func (o ONNXExportOptions) Validate() error {
	var errs []error
	if o.RunDir == "" {
		errs = append(errs, errors.New("run directory is empty"))
	}
	if o.Out == "" {
		errs = append(errs, errors.New("ONNX output path is empty"))
	}
	switch o.Inputs {
	case "", model.ONNXCommSeq, model.ONNXHistIDs, model.ONNXItemIDs:
	default:
		errs = append(errs, fmt.Errorf("ONNX inputs %q not one of %q, %q, %q", o.Inputs, model.ONNXCommSeq, model.ONNXHistIDs, model.ONNXItemIDs))
	}
	return errors.Join(errs...)
}

// ONNXExport describes an exported ONNX model: its contract, as nann
// import and nann score take it.
type ONNXExport struct {
	Path        string   `json:"path"`
	Bytes       int64    `json:"bytes"`
	Opset       int      `json:"opset"`
	Inputs      string   `json:"inputs"`
	UserInputs  []string `json:"user_inputs"`
	ItemInput   string   `json:"item_input"`
	ScoreOutput string   `json:"score_output"`
	// IndexEmbedding is the item-only value to build an index on
	// (--index-embedding of nann import); "" when the item input is e_v.
	IndexEmbedding string `json:"index_embedding,omitempty"`
}

// ExportONNX writes a trained run's scoring network as an ONNX model in
// the import contract (model.Model.ONNX), atomically. An existing file at
// Out is replaced only if it is an ONNX model nann wrote.
func ExportONNX(ctx context.Context, o ONNXExportOptions) (*ONNXExport, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("export onnx: %w", err)
	}
	if o.Inputs == "" {
		o.Inputs = model.ONNXCommSeq
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if err := checkONNXOut(o.Out); err != nil {
		return nil, fmt.Errorf("export onnx: %w", err)
	}
	run, err := train.OpenRun(o.RunDir)
	if err != nil {
		return nil, fmt.Errorf("export onnx: %w", err)
	}
	run.Log = o.Log
	mdl, err := run.LoadModel()
	if err != nil {
		return nil, fmt.Errorf("export onnx: %w", err)
	}
	opt := model.ONNXOptions{Inputs: o.Inputs}
	if o.Inputs == model.ONNXItemIDs {
		ds, err := run.OpenDataset(run.DatasetPath(o.Data), dataset.OpenOptions{})
		if err != nil {
			return nil, fmt.Errorf("export onnx: the item categories: %w", err)
		}
		defer ds.Close()
		if len(ds.ItemCate) != mdl.Cfg.NumItems+1 {
			return nil, fmt.Errorf("export onnx: dataset %s has %d items, the model %d", o.Data, len(ds.ItemCate)-1, mdl.Cfg.NumItems)
		}
		opt.ItemCates = ds.ItemCate.Rows()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	mp, err := mdl.ONNX(opt)
	if err != nil {
		return nil, fmt.Errorf("export onnx: %w", err)
	}
	if err := onnx.WriteModel(o.Out, mp); err != nil {
		return nil, fmt.Errorf("export onnx: %w", err)
	}
	rep := &ONNXExport{Path: o.Out, Opset: model.ONNXOpset, Inputs: string(o.Inputs), ScoreOutput: model.ONNXScoreOutput}
	for _, in := range mp.GetGraph().GetInput() {
		switch in.GetName() {
		case model.ONNXItemEmbInput, model.ONNXItemIDInput:
			rep.ItemInput = in.GetName()
		default:
			rep.UserInputs = append(rep.UserInputs, in.GetName())
		}
	}
	if o.Inputs == model.ONNXItemIDs {
		rep.IndexEmbedding = model.ONNXItemVec
	}
	if st, err := os.Stat(o.Out); err == nil {
		rep.Bytes = st.Size()
	}
	return rep, nil
}

// checkONNXOut refuses to replace anything at path but an ONNX model that
// nann wrote.
func checkONNXOut(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: refusing to replace something that is not a file", path)
	}
	m, err := onnx.ReadFile(path, onnx.ReadOptions{})
	if err != nil || m.ProducerName != "nann" {
		return fmt.Errorf("%s: refusing to replace an existing file that is not an ONNX model nann wrote", path)
	}
	return nil
}
