// Package dataset holds a prepared UserBehavior dataset: the reference's
// conversion (SPEC §1) of a behaviour log into per-user chronological
// sequences, training / test / validation samples, an item table and the
// maps back to the original ids.
//
// A prepared dataset is a directory:
//
//	meta.json          Meta: counts, lengths, seed, source (written last)
//	sequences.bin      per-user item and category sequences (see format.go)
//	train.samples      training samples (user row, position)
//	test.samples       one sample per test user
//	valid.samples      one sample per validation user
//	item_cate.npy      int32 [num_item+1]: category of each dense item (0 → 0)
//	item_weight.npy    float64 [num_item+1]: weight_tag = count / rows (0 → 0)
//	item_count.npy     int64 [num_item+1]: rows per item
//	item_raw_ids.npy   int64 [num_item+1]: original item id of each dense id
//	cate_raw_ids.npy   int64 [num_cate+1]: original category id of each dense id
//	user_raw_ids.npy   int64 [num_user]: original user id of each user row
package dataset

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"nann/internal/npy"
	"nann/item"
)

// Meta describes a prepared dataset. It is stored as meta.json.
type Meta struct {
	Format  string `json:"format"`  // "nann-dataset"
	Version int    `json:"version"` // 1

	NumItems int `json:"num_item"` // dense item ids are 1..NumItems
	NumCates int `json:"num_cate"` // dense category ids are 1..NumCates
	NumUser  int `json:"num_user"`

	NumRows          int64 `json:"num_rows"` // interactions used
	NumEligibleUsers int   `json:"num_eligible_users"`
	NumTrainUsers    int   `json:"num_train_users"`
	NumTestUsers     int   `json:"num_test_users"`
	NumValidUsers    int   `json:"num_valid_users"`

	NumTrainSamples int64 `json:"num_train_samples"`
	NumTestSamples  int64 `json:"num_test_samples"`
	NumValidSamples int64 `json:"num_valid_samples"`

	SeqLen         int `json:"max_length"`       // history length (50)
	TrainMinLength int `json:"train_min_length"` // first training position (10)
	TestMinLength  int `json:"test_min_length"`  // eligibility and test position base (7)

	Seed       uint64           `json:"seed"`
	Source     string           `json:"source,omitempty"`
	SkippedBad int64            `json:"skipped_bad_lines"`
	Behaviors  map[string]int64 `json:"behaviors"`
}

const formatName = "nann-dataset"

// MetaFile is the dataset's description (Meta), written last by Prepare.
const MetaFile = "meta.json"

// Sample is a reference to one training or evaluation example: event Pos
// of user row User is the target; the up to MaxLength events before it are
// the history.
type Sample struct {
	User uint32
	Pos  uint32
}

// Dataset is an opened prepared dataset. Its sequence and sample arrays are
// memory-mapped and read-only; Close unmaps them.
type Dataset struct {
	Dir  string
	Meta Meta

	// Per-item tables, indexed by dense item id (entry 0 is the padding
	// id's); their Rows() views are indexed by item row.
	ItemCate   item.ByID[int32]   // dense category of each item
	ItemWeight item.ByID[float64] // weight_tag = count / rows
	ItemCount  item.ByID[int64]   // rows per item
	ItemRaw    item.ByID[int64]   // original id of each item
	CateRaw    []int64            // [NumCates+1]: original id of each dense category
	UserRaw    []int64            // [NumUser]: original id of each user row

	Train, Test, Valid []Sample

	offsets      []uint64
	items, cates []int32
	maps         []*mapped
}

// OpenOptions tune Open. The zero value checks everything.
type OpenOptions struct {
	// NoVerify skips the payload checksums (CRC-32C) of sequences.bin and
	// the samples files, which Open otherwise checks: one pass over the
	// mapped files, measured at 44 ms of a 103 ms open of a 139 MB dataset
	// (10 M rows) on a busy 2-core machine. Headers, sizes and id
	// ranges are always checked; an in-range flipped byte is caught only by
	// the checksum.
	NoVerify bool
}

// Open opens a prepared dataset directory.
func Open(dir string, opt OpenOptions) (*Dataset, error) {
	d := &Dataset{Dir: dir}
	if err := d.open(opt); err != nil {
		d.Close()
		return nil, fmt.Errorf("open dataset %s: %w", dir, err)
	}
	return d, nil
}

func (d *Dataset) open(opt OpenOptions) error {
	b, err := os.ReadFile(filepath.Join(d.Dir, MetaFile))
	if err != nil {
		return fmt.Errorf("%w (not a prepared dataset, or preparation did not finish)", err)
	}
	if err := json.Unmarshal(b, &d.Meta); err != nil {
		return fmt.Errorf("%s: %w", MetaFile, err)
	}
	if d.Meta.Format != formatName || d.Meta.Version != 1 {
		return fmt.Errorf("%s: format %q version %d, want %q version 1", MetaFile, d.Meta.Format, d.Meta.Version, formatName)
	}
	verify := !opt.NoVerify
	if err := d.openSequences(verify); err != nil {
		return err
	}
	if err := d.openTables(); err != nil {
		return err
	}
	for _, s := range []struct {
		name string
		dst  *[]Sample
		want int64
	}{{"train.samples", &d.Train, d.Meta.NumTrainSamples}, {"test.samples", &d.Test, d.Meta.NumTestSamples}, {"valid.samples", &d.Valid, d.Meta.NumValidSamples}} {
		if err := d.openSamples(s.name, s.dst, s.want, verify); err != nil {
			return err
		}
	}
	return nil
}

func (d *Dataset) openSequences(verify bool) error {
	path := filepath.Join(d.Dir, "sequences.bin")
	m, h, err := openBinary(path, magicSequences, verify, func(h header) (uint64, error) {
		if h.countA > maxCount || h.countB > maxCount {
			return 0, fmt.Errorf("implausible counts %d users, %d events", h.countA, h.countB)
		}
		return (h.countA+1)*8 + h.countB*8, nil
	})
	if err != nil {
		return err
	}
	d.maps = append(d.maps, m)
	users, events := int(h.countA), int(h.countB)
	if users != d.Meta.NumUser {
		return fmt.Errorf("%s: %d users, meta.json says %d", path, users, d.Meta.NumUser)
	}
	p := m.data[headerSize:]
	d.offsets = sliceOf[uint64](p[:(users+1)*8])
	d.items = sliceOf[int32](p[(users+1)*8 : (users+1)*8+events*4])
	d.cates = sliceOf[int32](p[(users+1)*8+events*4:])
	prev := uint64(0)
	for u, o := range d.offsets {
		if o < prev || o > uint64(events) || (u == 0 && o != 0) {
			return fmt.Errorf("%s: offset of user row %d is %d (previous %d, events %d)", path, u, o, prev, events)
		}
		prev = o
	}
	if prev != uint64(events) {
		return fmt.Errorf("%s: last offset %d, want %d events", path, prev, events)
	}
	for i := range d.items {
		if it, c := d.items[i], d.cates[i]; it < 1 || int(it) > d.Meta.NumItems || c < 1 || int(c) > d.Meta.NumCates {
			return fmt.Errorf("%s: event %d has item %d, category %d outside 1..%d, 1..%d", path, i, it, c, d.Meta.NumItems, d.Meta.NumCates)
		}
	}
	return nil
}

func (d *Dataset) openTables() error {
	var errs []error
	load := func(name string, want int, f func(string) (int, error)) {
		n, err := f(filepath.Join(d.Dir, name))
		if err != nil {
			errs = append(errs, err)
		} else if n != want {
			errs = append(errs, fmt.Errorf("%s: %d entries, meta.json implies %d", name, n, want))
		}
	}
	ni, nc := d.Meta.NumItems+1, d.Meta.NumCates+1
	load("item_cate.npy", ni, func(p string) (int, error) { v, _, err := npy.Read[int32](p); d.ItemCate = v; return len(v), err })
	load("item_weight.npy", ni, func(p string) (int, error) { v, _, err := npy.Read[float64](p); d.ItemWeight = v; return len(v), err })
	load("item_count.npy", ni, func(p string) (int, error) { v, _, err := npy.Read[int64](p); d.ItemCount = v; return len(v), err })
	load("item_raw_ids.npy", ni, func(p string) (int, error) { v, _, err := npy.Read[int64](p); d.ItemRaw = v; return len(v), err })
	load("cate_raw_ids.npy", nc, func(p string) (int, error) { v, _, err := npy.Read[int64](p); d.CateRaw = v; return len(v), err })
	load("user_raw_ids.npy", d.Meta.NumUser, func(p string) (int, error) { v, _, err := npy.Read[int64](p); d.UserRaw = v; return len(v), err })
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for i, c := range d.ItemCate {
		if c < 0 || int(c) > d.Meta.NumCates || (i > 0 && c == 0) {
			return fmt.Errorf("item_cate.npy: item %d has category %d outside 1..%d", i, c, d.Meta.NumCates)
		}
	}
	return nil
}

func (d *Dataset) openSamples(name string, dst *[]Sample, want int64, verify bool) error {
	path := filepath.Join(d.Dir, name)
	m, h, err := openBinary(path, magicSamples, verify, func(h header) (uint64, error) {
		if h.countA > maxCount {
			return 0, fmt.Errorf("implausible record count %d", h.countA)
		}
		return h.countA * 8, nil
	})
	if err != nil {
		return err
	}
	d.maps = append(d.maps, m)
	if int64(h.countA) != want {
		return fmt.Errorf("%s: %d records, meta.json says %d", path, h.countA, want)
	}
	s := sliceOf[Sample](m.data[headerSize:])
	for i, r := range s {
		if int(r.User) >= d.Meta.NumUser || uint64(r.Pos) >= d.offsets[r.User+1]-d.offsets[r.User] {
			return fmt.Errorf("%s: record %d (user row %d, position %d) is outside the sequences", path, i, r.User, r.Pos)
		}
	}
	*dst = s
	return nil
}

// Close releases the mapped files.
func (d *Dataset) Close() error {
	var errs []error
	for _, m := range d.maps {
		errs = append(errs, m.close())
	}
	d.maps = nil
	return errors.Join(errs...)
}

// UserLen is the number of events of user row u.
func (d *Dataset) UserLen(u int) int { return int(d.offsets[u+1] - d.offsets[u]) }

// UserSequence returns user row u's chronological items and categories.
// The slices alias read-only memory.
func (d *Dataset) UserSequence(u int) (items, cates []int32) {
	a, b := d.offsets[u], d.offsets[u+1]
	return d.items[a:b], d.cates[a:b]
}

// History returns the sample's history: the up to MaxLength events before
// its position, chronological. The slices alias read-only memory.
func (d *Dataset) History(s Sample) (items, cates []int32) {
	it, ct := d.UserSequence(int(s.User))
	lo := max(0, int(s.Pos)-d.Meta.SeqLen)
	return it[lo:s.Pos], ct[lo:s.Pos]
}

// Target returns the sample's target item and its category.
func (d *Dataset) Target(s Sample) (target item.ID, cate int32) {
	it, ct := d.UserSequence(int(s.User))
	return item.ID(it[s.Pos]), ct[s.Pos]
}

// Fill writes the sample's history into items and cates (each of length
// MaxLength), right-padded with 0 as the reference does, and returns the
// number of real events.
func (d *Dataset) Fill(s Sample, items, cates []int32) int {
	hi, hc := d.History(s)
	n := copy(items, hi)
	copy(cates, hc)
	clear(items[n:])
	clear(cates[n:])
	return n
}
