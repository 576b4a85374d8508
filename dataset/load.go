package dataset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"nann/internal/meter"
	"nann/internal/parallel"
	"nann/userbehavior"
)

// columns holds parsed log rows column-wise, in file order.
type columns struct {
	user, item, cate []uint32
	time             []int64
	behaviors        [userbehavior.NumBehaviors]int64
	bad              int64
}

func (c *columns) len() int { return len(c.user) }

// parseChunk parses whole lines of b into c's columns starting at row at
// (c has room for every line of b). It returns the rows written and, on a
// bad line, the byte offset of that line within b.
func parseChunk(ctx context.Context, b []byte, c *columns, at int, skipBad bool, bar *meter.Meter) (int, int64, [userbehavior.NumBehaviors]int64, int, error) {
	var behaviors [userbehavior.NumBehaviors]int64
	var bad int64
	off, reported, k := 0, 0, at
	for off < len(b) {
		end := bytes.IndexByte(b[off:], '\n')
		if end < 0 {
			end = len(b)
		} else {
			end += off
		}
		line := b[off:end]
		if !userbehavior.IsBlank(line) {
			r, field, err := userbehavior.ParseLine(line)
			switch {
			case err != nil && !skipBad:
				return 0, 0, behaviors, off, badLine(field, err)
			case err != nil:
				bad++
			default:
				c.user[k], c.item[k], c.cate[k], c.time[k] = r.User, r.Item, r.Cate, r.Time
				behaviors[r.Behavior]++
				k++
			}
		}
		off = end + 1
		if off-reported >= 1<<22 {
			if ctx.Err() != nil {
				return 0, 0, behaviors, off, ctx.Err()
			}
			bar.Add(int64(off - reported))
			reported = off
		}
	}
	bar.Add(int64(min(off, len(b)) - reported))
	return k - at, bad, behaviors, 0, nil
}

type fieldError struct {
	field int
	err   error
}

func (e *fieldError) Error() string { return e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

func badLine(field int, err error) error { return &fieldError{field, err} }

// splitChunks cuts b into about n pieces at line boundaries.
func splitChunks(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		size := len(b) / n
		if n == 1 || size < 1<<16 {
			out = append(out, b)
			break
		}
		cut := bytes.IndexByte(b[size:], '\n')
		if cut < 0 {
			out = append(out, b)
			break
		}
		cut += size + 1
		out = append(out, b[:cut])
		b = b[cut:]
		n--
	}
	return out
}

// parseLog parses a whole log held in memory on all cores. The columns are
// allocated once for the file's line count and each worker fills its own
// window, so memory stays at one copy of the parsed rows.
func parseLog(ctx context.Context, name string, b []byte, skipBad bool, workers int, progress meter.Func) (*columns, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	chunks := splitChunks(b, workers)
	starts := make([]int, len(chunks)+1)
	each(len(chunks), func(i int) { starts[i+1] = bytes.Count(chunks[i], []byte{'\n'}) + 1 })
	for i := range chunks {
		starts[i+1] += starts[i]
	}
	n := starts[len(chunks)]
	c := &columns{user: make([]uint32, n), item: make([]uint32, n), cate: make([]uint32, n), time: make([]int64, n)}
	bar := meter.New(progress, "parse "+name, int64(len(b)))
	counts := make([]int, len(chunks))
	errs := make([]error, len(chunks))
	base := make([]int, len(chunks))
	for i := 1; i < len(chunks); i++ {
		base[i] = base[i-1] + len(chunks[i-1])
	}
	var mu sync.Mutex
	each(len(chunks), func(i int) {
		rows, bad, beh, off, err := parseChunk(ctx, chunks[i], c, starts[i], skipBad, bar)
		if err != nil {
			errs[i] = lineError(name, b, base[i]+off, err)
			return
		}
		counts[i] = rows
		mu.Lock()
		defer mu.Unlock()
		c.bad += bad
		for k := range beh {
			c.behaviors[k] += beh[k]
		}
	})
	if err := firstError(errs); err != nil {
		return nil, err
	}
	c.compact(starts, counts)
	return c, nil
}

// compact moves each chunk's rows down so that the rows are contiguous.
func (c *columns) compact(starts, counts []int) {
	k := 0
	for i, n := range counts {
		from := starts[i]
		copy(c.user[k:], c.user[from:from+n])
		copy(c.item[k:], c.item[from:from+n])
		copy(c.cate[k:], c.cate[from:from+n])
		copy(c.time[k:], c.time[from:from+n])
		k += n
	}
	c.user, c.item, c.cate, c.time = c.user[:k], c.item[:k], c.cate[:k], c.time[:k]
}

// lineError turns a parse error at byte offset off of the file into a
// LineError naming the file, line and field.
func lineError(name string, b []byte, off int, err error) error {
	var fe *fieldError
	if !errors.As(err, &fe) {
		return err
	}
	line := int64(bytes.Count(b[:off], []byte{'\n'})) + 1
	le := &userbehavior.LineError{File: name, Line: line, Err: fe.err}
	if fe.field >= 0 {
		le.Field = userbehavior.Fields[fe.field]
	}
	return le
}

// each runs f(i) for i in [0, n), one goroutine per i (n is the number of
// parse chunks, one per worker).
func each(n int, f func(i int)) {
	parallel.For(context.Background(), n, n, func(_ context.Context, i int) error { f(i); return nil })
}

// firstError returns the error of the earliest chunk, so the line reported
// is the first bad line of the file.
func firstError(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// denseMap replaces ids in place by dense ids 1..N in ascending order of
// the original id and returns the originals (index = dense id, [0] = 0).
func denseMap(ids []uint32, from int) ([]int64, error) {
	maxID := uint32(0)
	for _, v := range ids {
		maxID = max(maxID, v)
	}
	if maxID < 1<<28 {
		return denseByTable(ids, maxID, from), nil
	}
	return denseBySort(ids, from), nil
}

func denseByTable(ids []uint32, maxID uint32, from int) []int64 {
	table := make([]int32, int(maxID)+1)
	for _, v := range ids {
		table[v] = 1
	}
	raw := make([]int64, from, 1024)
	next := int32(from)
	for id, seen := range table {
		if seen != 0 {
			table[id] = next
			raw = append(raw, int64(id))
			next++
		}
	}
	for i, v := range ids {
		ids[i] = uint32(table[v])
	}
	return raw
}

func denseBySort(ids []uint32, from int) []int64 {
	uniq := append([]uint32(nil), ids...)
	sortUint32(uniq)
	k := 0
	for i, v := range uniq {
		if i == 0 || v != uniq[k-1] {
			uniq[k] = v
			k++
		}
	}
	uniq = uniq[:k]
	raw := make([]int64, from, from+k)
	for _, v := range uniq {
		raw = append(raw, int64(v))
	}
	for i, v := range ids {
		lo, hi := 0, len(uniq)
		for lo < hi {
			m := (lo + hi) / 2
			if uniq[m] < v {
				lo = m + 1
			} else {
				hi = m
			}
		}
		ids[i] = uint32(lo + from)
	}
	return raw
}

func sortUint32(s []uint32) {
	// LSD radix sort, 4 passes of 8 bits.
	tmp := make([]uint32, len(s))
	src, dst := s, tmp
	for shift := 0; shift < 32; shift += 8 {
		var count [257]int
		for _, v := range src {
			count[(v>>shift)&0xff+1]++
		}
		for i := 1; i < 257; i++ {
			count[i] += count[i-1]
		}
		for _, v := range src {
			b := (v >> shift) & 0xff
			dst[count[b]] = v
			count[b]++
		}
		src, dst = dst, src
	}
}

func checkCancelled(ctx context.Context, stage string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", stage, err)
	}
	return nil
}
