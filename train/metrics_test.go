package train

import (
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
	l, err := openMetrics(path, 10)
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
