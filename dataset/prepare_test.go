package dataset

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"nann/userbehavior"
)

const sharedData = "../../shared/data"

func sharedFile(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(sharedData, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real data slice %s absent (%v); these checks need ../shared/data beside the repo", name, err)
	}
	return p
}

// naiveRow and naiveLoad re-derive the reference's conversion with maps
// and sorts, independently of the program's code paths.
type naiveRow struct {
	user, item, cate int64
	ts               int64
	line             int
}

func naiveLoad(t *testing.T, path string) []naiveRow {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []naiveRow
	sc := bufio.NewScanner(f)
	for n := 0; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		p := strings.Split(line, ",")
		var v [5]int64
		for _, i := range []int{0, 1, 2, 4} {
			v[i], err = strconv.ParseInt(p[i], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
		}
		rows = append(rows, naiveRow{v[0], v[1], v[2], v[4], n})
	}
	return rows
}

type naiveWorld struct {
	users, items, cates map[int64]bool
	seqs                map[int64][]naiveRow // chronological, stable
	count               map[int64]int
}

func derive(rows []naiveRow) naiveWorld {
	w := naiveWorld{map[int64]bool{}, map[int64]bool{}, map[int64]bool{}, map[int64][]naiveRow{}, map[int64]int{}}
	for _, r := range rows {
		w.users[r.user], w.items[r.item], w.cates[r.cate] = true, true, true
		w.seqs[r.user] = append(w.seqs[r.user], r)
		w.count[r.item]++
	}
	for _, s := range w.seqs {
		sort.SliceStable(s, func(i, j int) bool { return s[i].ts < s[j].ts })
	}
	return w
}

func prepareTo(t *testing.T, input string, opt Options) *Dataset {
	t.Helper()
	out := filepath.Join(t.TempDir(), "ds")
	if _, err := Prepare(context.Background(), input, out, opt); err != nil {
		t.Fatal(err)
	}
	d, err := Open(out, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestHistories4k(t *testing.T) {
	path := sharedFile(t, "userbehavior_histories_4k.csv")
	rows := naiveLoad(t, path)
	w := derive(rows)
	opt := DefaultOptions()
	d := prepareTo(t, path, opt)
	m := d.Meta
	if m.NumRows != int64(len(rows)) || m.NumUser != len(w.users) || m.NumItems != len(w.items) || m.NumCates != len(w.cates) {
		t.Fatalf("counts: rows %d users %d items %d cates %d; derived %d %d %d %d",
			m.NumRows, m.NumUser, m.NumItems, m.NumCates, len(rows), len(w.users), len(w.items), len(w.cates))
	}
	eligible := 0
	for _, s := range w.seqs {
		if len(s) > opt.TestMinLength {
			eligible++
		}
	}
	if m.NumEligibleUsers != eligible {
		t.Fatalf("eligible %d, derived %d", m.NumEligibleUsers, eligible)
	}
	// Every user row maps back to an original user whose chronological
	// sequence we derived; check items, categories and samples per role.
	role := map[uint32]string{}
	for _, s := range d.Test {
		role[s.User] = "test"
	}
	for _, s := range d.Valid {
		role[s.User] = "valid"
	}
	var wantTrain int64
	for u := 0; u < m.NumUser; u++ {
		seq := w.seqs[d.UserRaw[u]]
		items, cates := d.UserSequence(u)
		if len(items) != len(seq) {
			t.Fatalf("user %d: %d events, derived %d", d.UserRaw[u], len(items), len(seq))
		}
		for i, r := range seq {
			if d.ItemRaw[items[i]] != r.item || d.CateRaw[cates[i]] != r.cate {
				t.Fatalf("user %d event %d: item %d cate %d, derived %d %d", d.UserRaw[u], i, d.ItemRaw[items[i]], d.CateRaw[cates[i]], r.item, r.cate)
			}
		}
		if role[uint32(u)] == "" {
			wantTrain += int64(max(0, len(seq)-1-opt.TrainMinLength))
		}
	}
	if m.NumTrainSamples != wantTrain || int64(len(d.Train)) != wantTrain {
		t.Fatalf("train samples %d (%d read), derived %d", m.NumTrainSamples, len(d.Train), wantTrain)
	}
	if len(d.Test) != m.NumTestUsers || len(d.Valid) != m.NumValidUsers || m.NumTestUsers+m.NumValidUsers > eligible/5 {
		t.Fatalf("test %d valid %d of eligible %d", len(d.Test), len(d.Valid), eligible)
	}
	for _, s := range append(append([]Sample{}, d.Test...), d.Valid...) {
		n := d.UserLen(int(s.User))
		if n <= opt.TestMinLength || int(s.Pos) != 7+(n-7)/2 {
			t.Fatalf("eval sample %+v of a user with %d events", s, n)
		}
	}
	for it := 1; it <= m.NumItems; it++ {
		raw := d.ItemRaw[it]
		if d.ItemCount[it] != int64(w.count[raw]) || d.ItemWeight[it] != float64(w.count[raw])/float64(len(rows)) {
			t.Fatalf("item %d: count %d weight %g, derived %d", raw, d.ItemCount[it], d.ItemWeight[it], w.count[raw])
		}
		if it > 1 && d.ItemRaw[it] <= d.ItemRaw[it-1] {
			t.Fatalf("dense ids not in ascending raw order at %d", it)
		}
	}
	// A training sample's history is the up to 50 events before it, padded.
	hi, hc := make([]int32, 50), make([]int32, 50)
	for _, s := range d.Train {
		n := d.Fill(s, hi, hc)
		if n != min(int(s.Pos), 50) || (n < 50 && (hi[n] != 0 || hc[n] != 0)) {
			t.Fatalf("sample %+v: %d history events", s, n)
		}
		items, _ := d.UserSequence(int(s.User))
		if n > 0 && hi[n-1] != items[s.Pos-1] {
			t.Fatalf("sample %+v: last history item %d, want %d", s, hi[n-1], items[s.Pos-1])
		}
	}
}

func TestStream110kCounts(t *testing.T) {
	path := sharedFile(t, "userbehavior_stream_110k.csv")
	rows := naiveLoad(t, path)
	w := derive(rows)
	d := prepareTo(t, path, DefaultOptions())
	if d.Meta.NumRows != int64(len(rows)) || d.Meta.NumUser != len(w.users) || d.Meta.NumItems != len(w.items) || d.Meta.NumCates != len(w.cates) {
		t.Fatalf("meta %+v; derived users %d items %d cates %d", d.Meta, len(w.users), len(w.items), len(w.cates))
	}
}

func writeCSV(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "log.csv")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBadLines(t *testing.T) {
	good := "1,10,100,pv,1511544070\n"
	cases := []struct{ name, line, field string }{
		{"fields", "1,10,100,pv\n", ""},
		{"extra field", "1,10,100,pv,5,6\n", ""},
		{"user", "x,10,100,pv,1511544070\n", "user_id"},
		{"item", "1,1.5,100,pv,1511544070\n", "item_id"},
		{"category", "1,10,-3,pv,1511544070\n", "category_id"},
		{"behavior", "1,10,100,click,1511544070\n", "behavior_type"},
		{"timestamp", "1,10,100,pv,2017-11-25\n", "timestamp"},
		{"huge id", "1,99999999999,100,pv,1\n", "item_id"},
		{"item id 0 (padding)", "1,0,100,pv,1511544070\n", "item_id"},
	}
	for _, c := range cases {
		p := writeCSV(t, good+good+c.line+good)
		_, err := Prepare(context.Background(), p, filepath.Join(t.TempDir(), "ds"), DefaultOptions())
		var le *userbehavior.LineError
		if !errors.As(err, &le) || le.Line != 3 || le.Field != c.field || le.File != p {
			t.Errorf("%s: got %v", c.name, err)
		}
		opt := DefaultOptions()
		opt.SkipBad = true
		m, err := Prepare(context.Background(), p, filepath.Join(t.TempDir(), "ds"), opt)
		if err != nil || m.SkippedBad != 1 || m.NumRows != 3 {
			t.Errorf("%s with skip-bad: %+v %v", c.name, m, err)
		}
	}
}

func TestLineEndsAndBlanks(t *testing.T) {
	base := "1,10,100,pv,3\n1,11,100,buy,2\n2,10,100,cart,1\n"
	variants := map[string]string{
		"crlf":       strings.ReplaceAll(base, "\n", "\r\n"),
		"no final":   strings.TrimSuffix(base, "\n"),
		"blank":      "\n" + strings.ReplaceAll(base, "\n", "\n\n") + "  \n",
		"crlf final": strings.TrimSuffix(strings.ReplaceAll(base, "\n", "\r\n"), "\r\n"),
	}
	for name, content := range variants {
		m, err := Prepare(context.Background(), writeCSV(t, content), filepath.Join(t.TempDir(), "ds"), DefaultOptions())
		if err != nil || m.NumRows != 3 || m.NumUser != 2 || m.NumItems != 2 || m.Behaviors["buy"] != 1 {
			t.Errorf("%s: %+v %v", name, m, err)
		}
	}
	for _, empty := range []string{"", "\n\n", "\r\n"} {
		if _, err := Prepare(context.Background(), writeCSV(t, empty), filepath.Join(t.TempDir(), "ds"), DefaultOptions()); err == nil || !strings.Contains(err.Error(), "no rows") {
			t.Errorf("empty %q: %v", empty, err)
		}
	}
}

func TestChronologicalStable(t *testing.T) {
	// user 5: times 3, 1, 3, 2 → order by time, ties in file order.
	p := writeCSV(t, "5,30,1,pv,3\n5,10,1,pv,1\n5,31,1,pv,3\n5,20,1,pv,2\n")
	d := prepareTo(t, p, DefaultOptions())
	items, _ := d.UserSequence(0)
	var got []int64
	for _, it := range items {
		got = append(got, d.ItemRaw[it])
	}
	if want := []int64{10, 20, 30, 31}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

func TestInterruptedLeavesNoDataset(t *testing.T) {
	p := writeCSV(t, "1,10,100,pv,3\n")
	out := filepath.Join(t.TempDir(), "ds")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Prepare(ctx, p, out, DefaultOptions()); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
	if _, err := Open(out, OpenOptions{}); err == nil {
		t.Fatal("an interrupted run left a dataset that opens")
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestRefusesToReplaceForeignDir(t *testing.T) {
	out := t.TempDir()
	os.WriteFile(filepath.Join(out, "precious.txt"), []byte("x"), 0o644)
	if _, err := Prepare(context.Background(), writeCSV(t, "1,10,100,pv,3\n"), out, DefaultOptions()); err == nil {
		t.Fatal("replaced a directory that is not a dataset")
	}
	if _, err := os.Stat(filepath.Join(out, "precious.txt")); err != nil {
		t.Fatal(err)
	}
}

// `nann prepare good.csv -o good.csv` used to delete the input: an --out
// that is a regular file (here the input itself, and another user file) is
// refused and keeps its exact bytes; a user's BASE.old beside a dataset
// survives a re-run.
func TestRefusesToReplaceFile(t *testing.T) {
	content := "1,10,100,pv,3\n1,11,100,pv,4\n"
	input := writeCSV(t, content)
	other := filepath.Join(filepath.Dir(input), "notes.txt")
	os.WriteFile(other, []byte("precious"), 0o600)
	for path, want := range map[string]string{input: content, other: "precious"} {
		if _, err := Prepare(context.Background(), input, path, DefaultOptions()); err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("--out %s: %v", path, err)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != want {
			t.Fatalf("%s changed: %q, %v", path, b, err)
		}
	}
	out := filepath.Join(t.TempDir(), "ds")
	os.WriteFile(out+".old", []byte("mine"), 0o600)
	for range 2 {
		if _, err := Prepare(context.Background(), input, out, DefaultOptions()); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := os.ReadFile(out + ".old"); err != nil || string(b) != "mine" {
		t.Fatalf("%s.old: %q, %v", out, b, err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 2 {
		t.Fatalf("left behind: %v", ents)
	}
}

func TestCorruptionDetected(t *testing.T) {
	path := sharedFile(t, "userbehavior_histories_4k.csv")
	out := filepath.Join(t.TempDir(), "ds")
	if _, err := Prepare(context.Background(), path, out, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	seq := filepath.Join(out, "sequences.bin")
	b, _ := os.ReadFile(seq)
	b[len(b)-3] ^= 0x40
	os.WriteFile(seq, b, 0o644)
	if _, err := Open(out, OpenOptions{}); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("flipped bit: %v", err)
	}

	os.WriteFile(seq, b[:len(b)-4], 0o644)
	if _, err := Open(out, OpenOptions{}); err == nil || !strings.Contains(err.Error(), "sequences.bin") {
		t.Fatalf("truncated: %v", err)
	}
}

func TestSamplesRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.samples")
	in := []Sample{{1, 2}, {3, 4}, {1 << 31, 7}}
	if err := WriteSamples(p, in); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	got, err := DecodeSamples(b)
	if err != nil || len(got) != 3 || got[2] != in[2] {
		t.Fatalf("%v %v", got, err)
	}
}

func TestHeldOut(t *testing.T) {
	for _, c := range []struct{ e, nt, nv, wt, wv int }{
		{100000, 10000, 10000, 10000, 10000},
		{43, 10000, 10000, 4, 4},
		{1, 10, 10, 0, 0},
		{40000, 10000, 10000, 4000, 4000},
		{60000, 10000, 0, 10000, 0},
		{18154, 10000, 10000, 1815, 1815},
	} {
		if t1, v1 := heldOut(c.e, c.nt, c.nv, 0.2); t1 != c.wt || v1 != c.wv {
			t.Errorf("heldOut(%d,%d,%d) = %d,%d want %d,%d", c.e, c.nt, c.nv, t1, v1, c.wt, c.wv)
		}
	}
}

func FuzzDecodeSamples(f *testing.F) {
	dir := f.TempDir()
	p := filepath.Join(dir, "s")
	WriteSamples(p, []Sample{{1, 2}, {3, 4}})
	b, _ := os.ReadFile(p)
	f.Add(b)
	f.Add(b[:70])
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSamples(b)
		if err == nil && len(s)*8 != len(b)-headerSize {
			t.Fatalf("%d samples from %d bytes", len(s), len(b))
		}
	})
}

// A killed run leaves its staging directory; the next run for the same
// --out removes it (and says so in the log), and nothing that is not ours.
func TestPrepareCleansStaleStaging(t *testing.T) {
	base := t.TempDir()
	out := filepath.Join(base, "ds")
	stale := filepath.Join(base, ".ds.nann-staging-4242")
	os.Mkdir(stale, 0o700)
	os.WriteFile(filepath.Join(stale, "sequences.bin"), make([]byte, 4096), 0o644)
	killed := time.Now().Add(-2 * time.Minute) // left by a run killed a while ago
	os.Chtimes(stale, killed, killed)
	legacy := filepath.Join(base, ".ds.staging-31337") // as earlier versions named it
	os.Mkdir(legacy, 0o700)
	old := time.Now().Add(-3 * time.Hour)
	os.Chtimes(legacy, old, old)
	mine := filepath.Join(base, ".ds.staging-mine")
	os.WriteFile(mine, []byte("user"), 0o600)
	var logBuf bytes.Buffer
	opt := DefaultOptions()
	opt.Log = slog.New(slog.NewTextHandler(&logBuf, nil))
	if _, err := Prepare(context.Background(), writeCSV(t, "1,10,100,pv,3\n"), out, opt); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{stale, legacy} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("stale %s still there (%v)", p, err)
		}
		if !strings.Contains(logBuf.String(), "stale") || !strings.Contains(logBuf.String(), p) {
			t.Errorf("removal of %s not logged:\n%s", p, logBuf.String())
		}
	}
	if b, err := os.ReadFile(mine); err != nil || string(b) != "user" {
		t.Fatalf("%s: %q %v", mine, b, err)
	}
}

// A flipped byte that keeps every id in range (here a history item swapped
// for another valid item) used to train with exit 0: Open checks the
// payload checksum by default, and NoVerify skips it.
func TestInRangeCorruptionDetectedByDefault(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ds")
	if _, err := Prepare(context.Background(), writeCSV(t, "1,10,100,pv,1\n1,11,100,pv,2\n2,12,100,pv,3\n"), out, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	seq := filepath.Join(out, "sequences.bin")
	b, _ := os.ReadFile(seq)
	users := 2
	at := headerSize + (users+1)*8 // items[0]
	if b[at] != 1 {
		t.Fatalf("items[0] = %d, want dense id 1", b[at])
	}
	b[at] = 2
	os.WriteFile(seq, b, 0o644)
	if _, err := Open(out, OpenOptions{}); err == nil || !strings.Contains(err.Error(), "checksum") || !strings.Contains(err.Error(), "sequences.bin") {
		t.Fatalf("in-range corruption, default open: %v", err)
	}
	d, err := Open(out, OpenOptions{NoVerify: true})
	if err != nil {
		t.Fatalf("NoVerify: %v", err)
	}
	d.Close()
}
