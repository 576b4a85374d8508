package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"nann/internal/meter"
	"nann/internal/safefile"
)

const (
	metricsFile = "metrics.jsonl"
	curvesFile  = "curves.png"
)

// metricsRow is one line of RUN/metrics.jsonl: the means over the steps
// since the previous row.
type metricsRow struct {
	Step    int64   `json:"step"`
	Epoch   float64 `json:"epoch"`
	Loss    float64 `json:"loss"`
	LossXE  float64 `json:"loss_xe"`
	LossAdv float64 `json:"loss_adv"`
	// AdvShare is AdvWeight·LossAdv / LossXE: how much the adversarial
	// term adds to the loss, relative to the cross-entropy (loss_adv /
	// loss_xe at the default weight 1). About 1e-7 at the reference's
	// adv_eps 3e-5: the term then barely changes training.
	AdvShare    float64 `json:"adv_share"`
	Acc         float64 `json:"acc"`        // positive has the highest corrected logit
	AccNoLogQ   float64 `json:"acc_nologq"` // ... of the uncorrected logits
	SamplesPerS float64 `json:"samples_per_s"`
	StepSeconds float64 `json:"step_seconds"` // mean wall time of a step (the reference's batch time)
	Time        string  `json:"time"`
}

// metricsLog appends rows to metrics.jsonl (not fsynced: a kill may tear
// the last line, which readMetrics skips and a resume rewrites).
type metricsLog struct{ f *os.File }

// openMetrics opens the metrics file for appending after dropping the rows
// past step (written by an earlier session after its last checkpoint; the
// resumed run logs those steps again).
func openMetrics(path string, step int64, log *slog.Logger) (*metricsLog, error) {
	rows, err := readMetrics(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		meter.Logger(log).Warn("metrics file damaged; keeping the rows before the damage", "file", path, "err", err, "rows", len(rows))
	}
	var buf bytes.Buffer
	for _, r := range rows {
		if r.Step <= step {
			b, _ := json.Marshal(r)
			buf.Write(append(b, '\n'))
		}
	}
	if err := safefile.WriteBytes(path, buf.Bytes()); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &metricsLog{f}, nil
}

func (l *metricsLog) write(r metricsRow) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", l.f.Name(), err)
	}
	return nil
}

func (l *metricsLog) close() error { return l.f.Close() }

// readMetrics reads metrics.jsonl (readJSONL's rules).
func readMetrics(path string) ([]metricsRow, error) { return readJSONL[metricsRow](path) }

// readJSONL reads a file of one JSON object a line; a torn last line
// (from a kill) is skipped, any other bad line is an error naming it,
// returned with the rows before it.
func readJSONL[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []T
	sc := bufio.NewScanner(f)
	line, bad := 0, 0
	for sc.Scan() {
		line++
		if bad > 0 {
			return rows, fmt.Errorf("%s:%d: invalid JSON line", path, bad)
		}
		var r T
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			bad = line
			continue
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}

// advShare is weight·lossAdv / lossXE (0 when lossXE is not positive).
func advShare(weight, lossAdv, lossXE float64) float64 {
	if !(lossXE > 0) {
		return 0
	}
	return weight * lossAdv / lossXE
}

// negligibleAdvShare is the adversarial share of the loss below which the
// end of training warns that the term does next to nothing.
const negligibleAdvShare = 1e-4

// lastMetrics returns the last row of metrics.jsonl (ok false if none).
func lastMetrics(path string) (metricsRow, bool) {
	rows, _ := readMetrics(path)
	if len(rows) == 0 {
		return metricsRow{}, false
	}
	return rows[len(rows)-1], true
}

// reportAdvShare logs, at the end of training, how much the adversarial
// term weighed in the loss, and warns when that is next to nothing.
func reportAdvShare(cfg Config, last metricsRow, log *slog.Logger) {
	if cfg.AdvEps == 0 || cfg.AdvWeight == 0 {
		return
	}
	args := []any{"adv_share", f4(last.AdvShare), "loss_adv", f4(last.LossAdv), "loss_xe", f4(last.LossXE),
		"adv_eps", cfg.AdvEps, "adv_weight", cfg.AdvWeight, "step", last.Step}
	if last.AdvShare < negligibleAdvShare {
		log.Warn("the adversarial term is negligible: adv_weight·loss_adv is adv_share of the cross-entropy, "+
			"so it barely changes training (raise --adv-eps or --adv-weight to make it count)", args...)
		return
	}
	log.Info("adversarial term: adv_weight·loss_adv is adv_share of the cross-entropy", args...)
}

// Styles of the curves. loss and loss_xe differ only by the adversarial
// share (often ~1e-7), so they coincide: loss_xe is drawn wide and solid,
// loss narrow and dashed on top of it, so that both stay visible.
var (
	red   = color.RGBA{200, 30, 30, 255}
	blue  = color.RGBA{30, 60, 200, 255}
	green = color.RGBA{20, 150, 40, 255}
)

// plotCurves draws the losses, the adversarial term and the accuracies
// against step into a PNG.
func plotCurves(metricsPath, pngPath string) error {
	rows, err := readMetrics(metricsPath)
	if len(rows) == 0 {
		return errors.Join(errors.New("no metrics rows"), err)
	}
	valid, _ := readValid(filepath.Join(filepath.Dir(metricsPath), ValidFile))
	img, err := drawCurves(rows, valid)
	if err != nil {
		return err
	}
	return safefile.Write(pngPath, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	})
}

// drawCurves renders the three panels: losses, adversarial term,
// accuracies; and a fourth, the validation recall with ±1 s.e. bars, when
// there are validation rows.
func drawCurves(rows []metricsRow, valid []ValidRow) (*vgimg.Canvas, error) {
	series := func(f func(metricsRow) float64) plotter.XYs {
		xy := make(plotter.XYs, len(rows))
		for i, r := range rows {
			xy[i].X, xy[i].Y = float64(r.Step), f(r)
		}
		return xy
	}
	last := rows[len(rows)-1]
	loss := plot.New()
	loss.Title.Text = "training loss = loss_xe + adv_weight·loss_adv"
	loss.X.Label.Text, loss.Y.Label.Text = "step", "loss"
	adv := plot.New()
	adv.Title.Text = fmt.Sprintf("adversarial KL term (unweighted); at the end adv_weight·loss_adv / loss_xe = %.2g", last.AdvShare)
	adv.X.Label.Text, adv.Y.Label.Text = "step", "loss_adv"
	acc := plot.New()
	acc.Title.Text = "training accuracy (positive ranked first of 1+negatives)"
	acc.X.Label.Text, acc.Y.Label.Text = "step", "accuracy"
	add := func(p *plot.Plot, name string, c color.Color, width float64, dashed bool, xy plotter.XYs) error {
		l, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		l.Color = c
		l.Width = vg.Points(width)
		if dashed {
			l.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
		}
		p.Add(l)
		p.Legend.Add(name, l)
		return nil
	}
	errs := []error{
		add(loss, "loss_xe (cross-entropy)", blue, 3.5, false, series(func(r metricsRow) float64 { return r.LossXE })),
		add(loss, "loss (total)", red, 1.2, true, series(func(r metricsRow) float64 { return r.Loss })),
		add(adv, "loss_adv", green, 1.2, false, series(func(r metricsRow) float64 { return r.LossAdv })),
		add(acc, "acc (log-Q corrected)", red, 1.2, false, series(func(r metricsRow) float64 { return r.Acc })),
		add(acc, "acc (raw logits)", blue, 1.2, false, series(func(r metricsRow) float64 { return r.AccNoLogQ })),
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	loss.Legend.Top = true // the losses fall: the top right is free
	for _, p := range []*plot.Plot{loss, adv, acc} {
		p.Add(plotter.NewGrid())
		p.Legend.ThumbnailWidth = vg.Points(36) // long enough to show a dash
	}
	panels := [][]*plot.Plot{{loss}, {adv}, {acc}}
	if len(valid) > 0 {
		vp, err := validPanel(valid)
		if err != nil {
			return nil, err
		}
		panels = append(panels, []*plot.Plot{vp})
	}
	img := vgimg.New(vg.Points(800), vg.Points(400*float64(len(panels))))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	canvases := plot.Align(panels, tiles, dc)
	for i, p := range panels {
		p[0].Draw(canvases[i][0])
	}
	return img, nil
}

// validPanel draws the validation recall against step with error bars,
// the best validation marked.
func validPanel(valid []ValidRow) (*plot.Plot, error) {
	p := plot.New()
	last := valid[len(valid)-1]
	p.Title.Text = fmt.Sprintf("validation Recall@%d (brute force, %d users, ±1 s.e.)", last.K, last.Users)
	p.X.Label.Text, p.Y.Label.Text = "step", fmt.Sprintf("recall@%d", last.K)
	xy := make(plotter.XYs, len(valid))
	errs := make(plotter.YErrors, len(valid))
	var best plotter.XYs
	for i, r := range valid {
		xy[i].X, xy[i].Y = float64(r.Step), r.Recall
		errs[i].Low, errs[i].High = r.RecallSE, r.RecallSE
		if r.Best {
			best = append(best, xy[i])
		}
	}
	l, err := plotter.NewLine(xy)
	if err != nil {
		return nil, err
	}
	l.Color, l.Width = red, vg.Points(1.2)
	bars, err := plotter.NewYErrorBars(struct {
		plotter.XYer
		plotter.YErrorer
	}{xy, errs})
	if err != nil {
		return nil, err
	}
	bars.Color = red
	p.Add(plotter.NewGrid(), l, bars)
	p.Legend.Add("validation recall", l)
	if len(best) > 0 {
		sc, err := plotter.NewScatter(best)
		if err != nil {
			return nil, err
		}
		sc.Color, sc.Shape = blue, draw.CircleGlyph{}
		p.Add(sc)
		p.Legend.Add("new best (best.ckpt)", sc)
	}
	p.Legend.Top = false
	p.Legend.Left = false
	return p, nil
}
