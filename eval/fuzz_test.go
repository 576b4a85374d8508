package eval

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// FuzzReadPointsCSV: the sweep CSV reader (nann plot's input) never panics,
// and what it accepts is finite, non-negative, of a known method, and
// written back and read again unchanged.
func FuzzReadPointsCSV(f *testing.F) {
	header := strings.Join(csvHeader, ",") + "\n"
	f.Add([]byte(header + "eval:2:400,200,100:3,1,1:200,beam,200,10,100,0.3,0.1,0.4,0.1,0.9,0.01,0.05,2000,1900,2500,0.02,1.5,3\n"))
	f.Add([]byte(header + "sl2g:64:200,sl2g,200,10,100,0.3,0.1,,,,,,2000,1900,2500,0.02,1.5,3\n"))
	f.Add([]byte(header + "x,beam,0,10,100,NaN,0.1,,,,,,1,1,1,1,1,1\n"))
	f.Add([]byte("beam,k\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pts, err := ReadPointsCSV(bytes.NewReader(b), "in.csv")
		if err != nil {
			if !strings.Contains(err.Error(), "in.csv") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, p := range pts {
			for _, v := range []float64{p.Recall, p.RecallSE, p.ScoredMean, p.ScoredFraction, p.LatencyP50} {
				if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
					t.Fatalf("accepted %v in %+v", v, p)
				}
			}
			if p.K < 1 || (p.Method != MethodBeam && p.Method != MethodSL2G) {
				t.Fatalf("accepted %+v", p)
			}
		}
		var out bytes.Buffer
		if err := WritePointsCSV(&out, pts); err != nil {
			t.Fatal(err)
		}
		again, err := ReadPointsCSV(bytes.NewReader(out.Bytes()), "again.csv")
		if err != nil || len(again) != len(pts) {
			t.Fatalf("written back, %d of %d points read: %v", len(again), len(pts), err)
		}
	})
}
