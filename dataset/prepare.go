package dataset

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"time"

	"nann/internal/meter"
	"nann/internal/npy"
	"nann/internal/safefile"
	"nann/item"
	"nann/userbehavior"
)

// Options controls Prepare. The zero value is not valid; start from
// DefaultOptions, which are the reference's settings.
type Options struct {
	MaxLength      int    // history length kept per sample (50)
	TrainMinLength int    // first training position (10): positions [TrainMinLength, len-1)
	TestMinLength  int    // users with more events are eligible for test/validation (7)
	NumTest        int    // test users drawn (10,000)
	NumValid       int    // validation users drawn (10,000)
	Seed           uint64 // seed of the test/validation draw (1)
	// MaxHeldOut caps test + validation users at this fraction of the
	// eligible users (0.2), so a small world keeps most users for training;
	// the full data set (988 K users) is far from the cap.
	MaxHeldOut float64
	SkipBad    bool // count and skip malformed lines instead of failing
	Workers    int  // parser goroutines (0 = all cores)
	// Log receives the progress messages and warnings (nil: none).
	Log *slog.Logger
	// Progress, if not nil, is called as the input is parsed, with stage
	// "parse FILE" and the bytes done and in all; it may be called from
	// several goroutines at once.
	Progress meter.Func
}

// DefaultOptions are the reference's settings (SPEC §1).
func DefaultOptions() Options {
	return Options{MaxLength: 50, TrainMinLength: 10, TestMinLength: 7, NumTest: 10000, NumValid: 10000, Seed: 1, MaxHeldOut: 0.2}
}

// Validate reports every problem with the options at once.
func (o Options) Validate() error {
	var errs []error
	if o.MaxLength < 1 || o.MaxLength > 10000 {
		errs = append(errs, fmt.Errorf("max length %d outside 1..10000", o.MaxLength))
	}
	if o.TrainMinLength < 1 {
		errs = append(errs, fmt.Errorf("train min length %d must be at least 1", o.TrainMinLength))
	}
	if o.TestMinLength < 1 {
		errs = append(errs, fmt.Errorf("test min length %d must be at least 1", o.TestMinLength))
	}
	if o.NumTest < 0 || o.NumValid < 0 {
		errs = append(errs, fmt.Errorf("test users %d and validation users %d must not be negative", o.NumTest, o.NumValid))
	}
	if o.MaxHeldOut <= 0 || o.MaxHeldOut > 1 {
		errs = append(errs, fmt.Errorf("max held-out fraction %g outside (0, 1]", o.MaxHeldOut))
	}
	if o.Workers < 0 {
		errs = append(errs, fmt.Errorf("workers %d must not be negative", o.Workers))
	}
	return errors.Join(errs...)
}

// Kind recognises a prepared dataset directory (meta.json): the only
// kind of existing directory Prepare replaces.
var Kind = safefile.Kind{Name: "prepared dataset", Markers: []string{MetaFile}}

// Prepare converts a UserBehavior log into a prepared dataset at out. The
// dataset is built in a staging directory beside out and moved into place
// only when complete, so an interrupted run leaves no dataset a later step
// would accept. An existing out must be a prepared dataset (or an empty
// directory); anything else is refused before the input is read.
func Prepare(ctx context.Context, input, out string, opt Options) (Meta, error) {
	if err := opt.Validate(); err != nil {
		return Meta{}, fmt.Errorf("prepare: %w", err)
	}
	out = filepath.Clean(out)
	if err := safefile.CheckOut(out, Kind); err != nil {
		return Meta{}, fmt.Errorf("prepare: --out: %w", err)
	}
	// Staging directories of an interrupted earlier run for the same out.
	log := meter.Logger(opt.Log)
	if _, err := safefile.CleanStale(filepath.Dir(out), filepath.Base(out), log); err != nil {
		log.Warn("prepare: cannot remove stale temporaries", "err", err)
	}
	start := time.Now()
	m, err := mapFile(input)
	if err != nil {
		return Meta{}, fmt.Errorf("prepare: %w", err)
	}
	cols, err := parseLog(ctx, input, m.data, opt.SkipBad, opt.Workers, opt.Progress)
	// The parsed columns hold everything now: drop the file's pages from
	// this process before the memory-hungry grouping.
	m.close()
	if err != nil {
		return Meta{}, fmt.Errorf("prepare: %w", err)
	}
	if cols.len() == 0 {
		return Meta{}, fmt.Errorf("prepare: %s has no rows (empty file, or every line blank or skipped)", input)
	}
	log.Info("parsed", "file", input, "rows", cols.len(), "skipped_bad", cols.bad, "secs", time.Since(start).Seconds())
	b, err := build(ctx, cols, opt)
	if err != nil {
		return Meta{}, fmt.Errorf("prepare: %w", err)
	}
	b.meta.Source = input
	if err := b.write(ctx, out); err != nil {
		return Meta{}, fmt.Errorf("prepare: %w", err)
	}
	log.Info("prepared", "out", out, "rows", b.meta.NumRows, "users", b.meta.NumUser, "items", b.meta.NumItems,
		"train_samples", b.meta.NumTrainSamples, "secs", time.Since(start).Seconds())
	return b.meta, nil
}

// built is a dataset in memory, ready to be written.
type built struct {
	meta                      Meta
	offsets                   []uint64
	items, cates              []int32
	train, test, valid        []Sample
	itemCate                  []int32
	itemWeight                []float64
	itemCount                 []int64
	itemRaw, cateRaw, userRaw []int64
}

func build(ctx context.Context, c *columns, opt Options) (*built, error) {
	b := &built{meta: Meta{
		Format: formatName, Version: 1, NumRows: int64(c.len()), SkippedBad: c.bad,
		SeqLen: opt.MaxLength, TrainMinLength: opt.TrainMinLength, TestMinLength: opt.TestMinLength,
		Seed: opt.Seed, Behaviors: map[string]int64{},
	}}
	for i, n := range c.behaviors {
		b.meta.Behaviors[userbehavior.Behavior(i).String()] = n
	}
	var err error
	if b.itemRaw, err = denseMap(c.item, 1); err != nil {
		return nil, err
	}
	if b.cateRaw, err = denseMap(c.cate, 1); err != nil {
		return nil, err
	}
	if b.userRaw, err = denseMap(c.user, 0); err != nil {
		return nil, err
	}
	b.meta.NumItems, b.meta.NumCates, b.meta.NumUser = len(b.itemRaw)-1, len(b.cateRaw)-1, len(b.userRaw)
	if err := checkCancelled(ctx, "map ids"); err != nil {
		return nil, err
	}
	b.itemTable(c)
	b.group(c)
	if err := checkCancelled(ctx, "group by user"); err != nil {
		return nil, err
	}
	b.split(opt)
	return b, nil
}

// itemTable computes counts, weight_tag and each item's category (the
// category of its first row in file order).
func (b *built) itemTable(c *columns) {
	n := b.meta.NumItems + 1
	b.itemCount = make([]int64, n)
	b.itemCate = make([]int32, n)
	for i, it := range c.item {
		b.itemCount[it]++
		if b.itemCate[it] == 0 {
			b.itemCate[it] = int32(c.cate[i])
		}
	}
	b.itemWeight = make([]float64, n)
	total := float64(c.len())
	for i := 1; i < n; i++ {
		b.itemWeight[i] = float64(b.itemCount[i]) / total
	}
}

// group orders the rows by user (dense order), then by time, stable.
func (b *built) group(c *columns) {
	nu := b.meta.NumUser
	b.offsets = make([]uint64, nu+1)
	for _, u := range c.user {
		b.offsets[u+1]++
	}
	for u := 0; u < nu; u++ {
		b.offsets[u+1] += b.offsets[u]
	}
	perm := make([]uint32, c.len())
	next := slices.Clone(b.offsets[:nu])
	for i, u := range c.user {
		perm[next[u]] = uint32(i)
		next[u]++
	}
	for u := 0; u < nu; u++ {
		idx := perm[b.offsets[u]:b.offsets[u+1]]
		if !slices.IsSortedFunc(idx, func(x, y uint32) int { return cmp.Compare(c.time[x], c.time[y]) }) {
			slices.SortStableFunc(idx, func(x, y uint32) int { return cmp.Compare(c.time[x], c.time[y]) })
		}
	}
	b.items = make([]int32, c.len())
	b.cates = make([]int32, c.len())
	for k, i := range perm {
		b.items[k] = int32(c.item[i])
		b.cates[k] = int32(c.cate[i])
	}
}

// split draws test and validation users and lists the samples.
func (b *built) split(opt Options) {
	var eligible []uint32
	for u := 0; u < b.meta.NumUser; u++ {
		if b.userLen(u) > opt.TestMinLength {
			eligible = append(eligible, uint32(u))
		}
	}
	nt, nv := heldOut(len(eligible), opt.NumTest, opt.NumValid, opt.MaxHeldOut)
	if nt < opt.NumTest || nv < opt.NumValid {
		meter.Logger(opt.Log).Warn("fewer eligible users than requested test+validation users; drawing fewer",
			"eligible", len(eligible), "test", nt, "valid", nv, "requested_test", opt.NumTest, "requested_valid", opt.NumValid)
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x6e616e6e))
	rng.Shuffle(len(eligible), func(i, j int) { eligible[i], eligible[j] = eligible[j], eligible[i] })
	test, valid := eligible[:nt], eligible[nt:nt+nv]
	role := make([]uint8, b.meta.NumUser) // 0 train, 1 test, 2 valid
	for _, u := range test {
		role[u] = 1
	}
	for _, u := range valid {
		role[u] = 2
	}
	for u := 0; u < b.meta.NumUser; u++ {
		n := b.userLen(u)
		switch role[u] {
		case 0:
			for p := opt.TrainMinLength; p < n-1; p++ {
				b.train = append(b.train, Sample{uint32(u), uint32(p)})
			}
		case 1:
			b.test = append(b.test, Sample{uint32(u), uint32(evalPosition(n, opt.TestMinLength))})
		case 2:
			b.valid = append(b.valid, Sample{uint32(u), uint32(evalPosition(n, opt.TestMinLength))})
		}
	}
	b.meta.NumEligibleUsers = len(eligible)
	b.meta.NumTestUsers, b.meta.NumValidUsers = nt, nv
	b.meta.NumTrainUsers = b.meta.NumUser - nt - nv
	b.meta.NumTrainSamples, b.meta.NumTestSamples, b.meta.NumValidSamples = int64(len(b.train)), int64(len(b.test)), int64(len(b.valid))
}

// heldOut caps the test and validation draws so that together they take at
// most the fraction frac of the eligible users, keeping their ratio.
func heldOut(eligible, nt, nv int, frac float64) (int, int) {
	budget := int(float64(eligible) * frac)
	if nt+nv <= budget {
		return nt, nv
	}
	t := budget * nt / max(1, nt+nv)
	return t, min(nv, budget-t)
}

// evalPosition is the reference's test/validation position for a user with
// n events: testMin + floor((n - testMin) / 2).
func evalPosition(n, testMin int) int { return testMin + (n-testMin)/2 }

func (b *built) userLen(u int) int { return int(b.offsets[u+1] - b.offsets[u]) }

// write writes the dataset into out (see Write).
func (b *built) write(ctx context.Context, out string) error {
	return Write(ctx, out, Contents{
		Meta: b.meta, Offsets: b.offsets, Items: b.items, Cates: b.cates,
		Train: b.train, Test: b.test, Valid: b.valid,
		ItemCate: b.itemCate, ItemWeight: b.itemWeight, ItemCount: b.itemCount,
		ItemRaw: b.itemRaw, CateRaw: b.cateRaw, UserRaw: b.userRaw,
	})
}

// Contents is everything a prepared dataset directory holds.
type Contents struct {
	Meta Meta // Format and Version are set by Write
	// Offsets[u]..Offsets[u+1] are user row u's events in Items and Cates
	// (dense ids, chronological).
	Offsets            []uint64
	Items, Cates       []int32
	Train, Test, Valid []Sample
	ItemCate           item.ByID[int32]   // dense item id → dense category ([0] = 0)
	ItemWeight         item.ByID[float64] // dense item id → sampling probability
	ItemCount          item.ByID[int64]   // dense item id → occurrences
	ItemRaw            item.ByID[int64]   // dense item id → original id ([0] = 0)
	CateRaw            []int64            // dense category id → original id ([0] = 0)
	UserRaw            []int64            // user row → original id
}

// Write writes c as a prepared dataset: every file into a staging
// directory next to out, which then replaces out (an existing out must be a
// prepared dataset or empty). meta.json is written last.
func Write(ctx context.Context, out string, c Contents) error {
	out = filepath.Clean(out)
	if err := safefile.CheckOut(out, Kind); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	st, err := safefile.NewStaging(out)
	if err != nil {
		return err
	}
	defer st.Abort()
	c.Meta.Format, c.Meta.Version = formatName, 1
	p := func(name string) string { return filepath.Join(st.Path, name) }
	steps := []func() error{
		func() error { return WriteSequences(p("sequences.bin"), c.Offsets, c.Items, c.Cates) },
		func() error { return WriteSamples(p("train.samples"), c.Train) },
		func() error { return WriteSamples(p("test.samples"), c.Test) },
		func() error { return WriteSamples(p("valid.samples"), c.Valid) },
		func() error { return npy.Write(p("item_cate.npy"), c.ItemCate) },
		func() error { return npy.Write(p("item_weight.npy"), c.ItemWeight) },
		func() error { return npy.Write(p("item_count.npy"), c.ItemCount) },
		func() error { return npy.Write(p("item_raw_ids.npy"), c.ItemRaw) },
		func() error { return npy.Write(p("cate_raw_ids.npy"), c.CateRaw) },
		func() error { return npy.Write(p("user_raw_ids.npy"), c.UserRaw) },
		func() error { return writeMeta(p(MetaFile), c.Meta) },
	}
	for _, step := range steps {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("write dataset: %w", err)
		}
		if err := step(); err != nil {
			return err
		}
	}
	return st.Commit()
}

func writeMeta(path string, m Meta) error {
	buf, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return safefile.WriteBytes(path, append(buf, '\n'))
}
