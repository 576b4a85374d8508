package train

import (
	"bytes"
	"context"
	"fmt"
	imgpng "image/png"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMetricsResumeDropsLaterRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), metricsFile)
	os.WriteFile(path, []byte(`{"step":5,"loss":1}
{"step":10,"loss":0.5}
{"step":15,"loss":0.4}
{"step":20,"lo`), 0o644) // torn last line, as a kill leaves it
	l, err := openMetrics(path, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.write(metricsRow{Step: 15, Loss: 0.3})
	l.close()
	rows, err := readMetrics(path)
	if err != nil || len(rows) != 3 || rows[1].Step != 10 || rows[2].Step != 15 || rows[2].Loss != 0.3 {
		t.Fatalf("rows %+v, %v", rows, err)
	}
	// A damaged middle line keeps the rows before it.
	os.WriteFile(path, []byte("{\"step\":5}\nnot json\n{\"step\":10}\n"), 0o644)
	rows, err = readMetrics(path)
	if err == nil || !strings.Contains(err.Error(), ":2:") || len(rows) != 1 {
		t.Fatalf("damaged: rows %+v, %v", rows, err)
	}
}

// loss and loss_xe differ by ~1e-7 and so coincide on the plot: both must
// still be visible in the loss panel (the total used to hide loss_xe).
func TestCurvesShowLossAndLossXE(t *testing.T) {
	dir := t.TempDir()
	var rows []string
	for i := 1; i <= 40; i++ {
		xe := 3.0 - 2.5*float64(i)/40
		rows = append(rows, fmt.Sprintf(`{"step":%d,"loss":%g,"loss_xe":%g,"loss_adv":5e-8,"acc":0.5,"acc_nologq":0.4}`, 10*i, xe+5e-8, xe))
	}
	metrics, png := filepath.Join(dir, metricsFile), filepath.Join(dir, curvesFile)
	if err := os.WriteFile(metrics, []byte(strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := plotCurves(metrics, png); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(png)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := imgpng.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// The left half of the top panel: the curves, not the legend (top right).
	b := img.Bounds()
	var red, blue int
	for y := b.Min.Y; y < b.Min.Y+b.Dy()/3; y++ {
		for x := b.Min.X; x < b.Min.X+b.Dx()/2; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			switch {
			case r > 150 && g < 90 && bl < 90:
				red++
			case bl > 150 && r < 90 && g < 120:
				blue++
			}
		}
	}
	if red < 100 || blue < 100 {
		t.Errorf("loss panel shows %d red (loss) and %d blue (loss_xe) pixels on the curves: one hides the other", red, blue)
	}
}

// The adversarial term's share of the loss (adv_weight·loss_adv/loss_xe) is
// in every metrics row, in the training log, in the report, and a
// negligible one is warned about.
func TestAdvShareReported(t *testing.T) {
	var logs bytes.Buffer
	run := filepath.Join(t.TempDir(), "run")
	cfg := smallConfig(testData, run)
	cfg.Epochs, cfg.AdvWeight = 1, 2
	rep, err := Run(context.Background(), cfg, Options{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := readMetrics(filepath.Join(run, metricsFile))
	if err != nil || len(rows) == 0 {
		t.Fatalf("metrics: %d rows, %v", len(rows), err)
	}
	for _, r := range rows {
		if want := 2 * r.LossAdv / r.LossXE; r.AdvShare <= 0 || math.Abs(r.AdvShare-want) > 1e-12*want {
			t.Fatalf("step %d: adv_share %g, want 2·%g/%g = %g", r.Step, r.AdvShare, r.LossAdv, r.LossXE, want)
		}
	}
	last := rows[len(rows)-1]
	tr := rep.Training
	if tr.AdvShare != last.AdvShare || tr.LossAdv != last.LossAdv || tr.LossXE != last.LossXE {
		t.Errorf("report: adv_share %g loss_adv %g loss_xe %g, want the last row's %g %g %g",
			tr.AdvShare, tr.LossAdv, tr.LossXE, last.AdvShare, last.LossAdv, last.LossXE)
	}
	b, err := os.ReadFile(filepath.Join(run, "report.json"))
	if err != nil || !strings.Contains(string(b), `"adv_share"`) {
		t.Errorf("report.json lacks adv_share (%v)", err)
	}
	if n := strings.Count(logs.String(), "msg=train "); n != len(rows) || strings.Count(logs.String(), " adv_share=") < n {
		t.Errorf("%d train log lines for %d rows, not all with adv_share:\n%s", n, len(rows), logs.String())
	}
	if last.AdvShare >= negligibleAdvShare {
		t.Fatalf("adv_share %g at the default adv_eps; the warning below is not exercised", last.AdvShare)
	}
	if !strings.Contains(logs.String(), "level=WARN msg=\"the adversarial term is negligible") {
		t.Errorf("no warning about the negligible adversarial term:\n%s", logs.String())
	}
}
