package synth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
)

// row is one parsed output line.
type row struct {
	user, item, cat int64
	beh             string
	ts              int64
}

// parseRows checks the exact line format and returns the rows.
func parseRows(t *testing.T, data []byte) []row {
	t.Helper()
	if len(data) == 0 || data[len(data)-1] != '\n' {
		t.Fatalf("output does not end with a newline")
	}
	lines := strings.Split(string(data[:len(data)-1]), "\n")
	rows := make([]row, 0, len(lines))
	for i, l := range lines {
		f := strings.Split(l, ",")
		if len(f) != 5 {
			t.Fatalf("line %d: %d fields in %q", i+1, len(f), l)
		}
		var r row
		var err error
		for j, dst := range []*int64{&r.user, &r.item, &r.cat, nil, &r.ts} {
			if dst == nil {
				continue
			}
			if *dst, err = strconv.ParseInt(f[j], 10, 64); err != nil || *dst <= 0 || f[j][0] == '0' {
				t.Fatalf("line %d field %d: %q is not a positive canonical integer", i+1, j+1, f[j])
			}
		}
		r.beh = f[3]
		rows = append(rows, r)
	}
	return rows
}

func generate(t testing.TB, cfg Config) ([]byte, Stats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := Generate(context.Background(), cfg, &buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), st
}

func tiny(t testing.TB) Config {
	cfg, err := Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestPresetsValid(t *testing.T) {
	for _, name := range PresetNames() {
		cfg, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
	}
	if _, err := Preset("huge"); err == nil || !strings.Contains(err.Error(), "tiny") {
		t.Errorf("unknown preset: err = %v, want one listing the presets", err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Users = 0
	cfg.Items = 5
	cfg.PFollow = 0.9
	cfg.End = cfg.Start - 1
	cfg.Related = 0
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken config")
	}
	for _, want := range []string{"users = 0", "items = 5", "categories = 250", "p_follow", "time window", "related = 0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error lacks %q:\n%v", want, err)
		}
	}
	if _, err := Generate(context.Background(), cfg, io.Discard); err == nil {
		t.Error("Generate accepted a broken config")
	}
}

func TestDeterministicAcrossWorkers(t *testing.T) {
	cfg := tiny(t)
	cfg.Users = 700
	cfg.Workers = 1
	a, _ := generate(t, cfg)
	cfg.Workers = 3
	b, _ := generate(t, cfg)
	if !bytes.Equal(a, b) {
		t.Fatal("1 and 3 workers gave different bytes")
	}
	cfg.Seed++
	c, _ := generate(t, cfg)
	if bytes.Equal(a, c) {
		t.Fatal("different seeds gave the same bytes")
	}
}

// TestGolden pins the bytes of a small configuration: any change to the
// generator changes the demo world, which should be a deliberate act
// (update the hash then).
func TestGolden(t *testing.T) {
	cfg := tiny(t)
	cfg.Users = 50
	data, st := generate(t, cfg)
	sum := fmt.Sprintf("%x", sha256.Sum256(data))
	const want = "39d8afbc0a224ff94c38b9b6e197c394c9f2335d974270c43891444146dec721"
	if sum != want {
		t.Errorf("sha256 of tiny[users=50] = %s, want %s (%d rows)", sum, want, st.Rows)
	}
}

func TestFormatAndStats(t *testing.T) {
	cfg := tiny(t)
	data, st := generate(t, cfg)
	rows := parseRows(t, data)
	if int64(len(rows)) != st.Rows || int64(len(data)) != st.Bytes {
		t.Fatalf("stats rows=%d bytes=%d, output has %d rows, %d bytes", st.Rows, st.Bytes, len(rows), len(data))
	}
	users, items, cats := map[int64]bool{}, map[int64]bool{}, map[int64]bool{}
	itemCat := map[int64]int64{}
	beh := map[string]int64{}
	var maxItem int64
	for i, r := range rows {
		if r.ts < WindowStart || r.ts > WindowEnd {
			t.Fatalf("line %d: timestamp %d outside the window", i+1, r.ts)
		}
		if i > 0 && r.user != rows[i-1].user {
			if users[r.user] || r.user < rows[i-1].user {
				t.Fatalf("line %d: user %d not grouped in increasing order", i+1, r.user)
			}
		} else if i > 0 && r.ts < rows[i-1].ts {
			t.Fatalf("line %d: time goes back within user %d", i+1, r.user)
		}
		if c, ok := itemCat[r.item]; ok && c != r.cat {
			t.Fatalf("line %d: item %d has categories %d and %d", i+1, r.item, c, r.cat)
		}
		itemCat[r.item] = r.cat
		users[r.user], items[r.item], cats[r.cat] = true, true, true
		beh[r.beh]++
		maxItem = max(maxItem, r.item)
	}
	if st.Users != int64(len(users)) || st.Users != int64(cfg.Users) || st.ItemsUsed != int64(len(items)) || st.CategoriesUsed != int64(len(cats)) {
		t.Errorf("stats %+v, counted users=%d items=%d cats=%d", st, len(users), len(items), len(cats))
	}
	want := BehaviorCounts{beh["pv"], beh["cart"], beh["fav"], beh["buy"]}
	if st.Behaviors != want || want.PV+want.Cart+want.Fav+want.Buy != st.Rows {
		t.Errorf("behaviours: stats %+v, counted %v", st.Behaviors, beh)
	}
	if maxItem < 2*int64(cfg.Items) {
		t.Errorf("item ids look dense: max %d for %d items", maxItem, cfg.Items)
	}
	checkShares(t, st)
}

// checkShares compares the behaviour mix with the real one.
func checkShares(t *testing.T, st Stats) {
	n := float64(st.Rows)
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"pv", float64(st.Behaviors.PV) / n, 0.895},
		{"cart", float64(st.Behaviors.Cart) / n, 0.055},
		{"fav", float64(st.Behaviors.Fav) / n, 0.03},
		{"buy", float64(st.Behaviors.Buy) / n, 0.02},
	} {
		if c.got < c.want*0.85 || c.got > c.want*1.15 && c.got-c.want > 0.005 {
			t.Errorf("%s share %.4f, want about %.3f", c.name, c.got, c.want)
		}
	}
}

// TestLengths checks the per-user count: calibrated mean, heavy tail.
func TestLengths(t *testing.T) {
	cfg := tiny(t)
	cfg.Users = 20_000
	cfg.MeanEvents = 100
	w := newWorld(cfg)
	g := newUserGen(w)
	sum, short, long := 0, 0, 0
	for u := range cfg.Users {
		g.r = newRNG(seedFor(cfg.Seed, streamUsers, uint64(u)))
		n := g.length()
		sum += n
		if n < 10 {
			short++
		}
		if n > 500 {
			long++
		}
	}
	mean := float64(sum) / float64(cfg.Users)
	if mean < 93 || mean > 107 {
		t.Errorf("mean events %.1f, want about 100", mean)
	}
	if short < cfg.Users/20 || long < cfg.Users/100 {
		t.Errorf("not heavy-tailed: %d users below 10, %d above 500 of %d", short, long, cfg.Users)
	}
}

func TestCancel(t *testing.T) {
	cfg := tiny(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Generate(ctx, cfg, io.Discard); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	w := &cancelAfter{n: 3, cancel: nil}
	ctx, w.cancel = context.WithCancel(context.Background())
	if _, err := Generate(ctx, cfg, w); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancel mid-run: err = %v, want context.Canceled", err)
	}
	if w.n > 0 {
		t.Fatalf("writes stopped before the cancellation")
	}
}

type cancelAfter struct {
	n      int
	cancel func()
}

func (w *cancelAfter) Write(p []byte) (int, error) {
	if w.n--; w.n == 0 {
		w.cancel()
	}
	return len(p), nil
}

type failWriter struct{}

func (failWriter) Write(p []byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	_, err := Generate(context.Background(), tiny(t), failWriter{})
	if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "users 0..") {
		t.Fatalf("err = %v, want the write error with the user range", err)
	}
}

// drift measures how much users' category mix moves over the window: the
// mean total-variation distance between the categories of a user's first
// and last thirds of the window, over users active in both.
func drift(t *testing.T, cfg Config) float64 {
	data, _ := generate(t, cfg)
	rows := parseRows(t, data)
	third := (WindowEnd - WindowStart) / 3
	sum, n := 0.0, 0
	for lo := 0; lo < len(rows); {
		hi := lo
		for hi < len(rows) && rows[hi].user == rows[lo].user {
			hi++
		}
		early, late := map[int64]float64{}, map[int64]float64{}
		ne, nl := 0.0, 0.0
		for _, r := range rows[lo:hi] {
			switch {
			case r.ts < WindowStart+third:
				early[r.cat]++
				ne++
			case r.ts >= WindowEnd-third:
				late[r.cat]++
				nl++
			}
		}
		if ne >= 20 && nl >= 20 {
			tv := 0.0
			for c, x := range early {
				tv += max(0, x/ne-late[c]/nl)
			}
			sum += tv
			n++
		}
		lo = hi
	}
	return sum / float64(n)
}

func TestInterestDrift(t *testing.T) {
	cfg := tiny(t)
	cfg.MeanEvents = 150
	with := drift(t, cfg)
	cfg.DriftSigma, cfg.PReplace = 0, 0
	without := drift(t, cfg)
	t.Logf("early/late category distance: %.3f with drift, %.3f without", with, without)
	if with < without+0.05 {
		t.Errorf("drift barely shows: %.3f with, %.3f without", with, without)
	}
}

// TestDailyRhythm checks the diurnal profile (China time): nights are quiet.
func TestDailyRhythm(t *testing.T) {
	data, _ := generate(t, tiny(t))
	var night, evening, n float64
	for _, r := range parseRows(t, data) {
		h := (r.ts - WindowStart) % 86400 / 3600
		n++
		if h >= 2 && h < 6 {
			night++
		}
		if h >= 19 && h < 23 {
			evening++
		}
	}
	if night/n > 0.06 || evening/n < 0.2 {
		t.Errorf("hour shares: 2-6h %.3f, 19-23h %.3f; want a quiet night and a busy evening", night/n, evening/n)
	}
}
