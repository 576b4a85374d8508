package dataset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"nann/internal/progress"
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

// parseChunk parses whole lines of b. lineBase is the number of lines
// before b in the file (for error messages, computed lazily by the caller).
func parseChunk(ctx context.Context, b []byte, skipBad bool, bar *progress.Bar) (*columns, int, error) {
	est := len(b)/32 + 1
	c := &columns{
		user: make([]uint32, 0, est), item: make([]uint32, 0, est),
		cate: make([]uint32, 0, est), time: make([]int64, 0, est),
	}
	off, reported := 0, 0
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
			if err != nil {
				if !skipBad {
					return nil, off, badLine(field, err)
				}
				c.bad++
			} else {
				c.user = append(c.user, r.User)
				c.item = append(c.item, r.Item)
				c.cate = append(c.cate, r.Cate)
				c.time = append(c.time, r.Time)
				c.behaviors[r.Behavior]++
			}
		}
		off = end + 1
		if off-reported >= 1<<22 {
			if ctx.Err() != nil {
				return nil, off, ctx.Err()
			}
			bar.Add(int64(off - reported))
			reported = off
		}
	}
	bar.Add(int64(min(off, len(b)) - reported))
	return c, 0, nil
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

// parseLog parses a whole log held in memory on all cores.
func parseLog(ctx context.Context, name string, b []byte, skipBad bool, workers int) (*columns, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	bar := progress.New("parse "+name, int64(len(b)))
	chunks := splitChunks(b, workers)
	parts := make([]*columns, len(chunks))
	errs := make([]error, len(chunks))
	var wg sync.WaitGroup
	base := 0
	for i, ch := range chunks {
		wg.Add(1)
		go func(i, base int, ch []byte) {
			defer wg.Done()
			c, off, err := parseChunk(ctx, ch, skipBad, bar)
			if err != nil {
				var fe *fieldError
				if errors.As(err, &fe) {
					line := int64(bytes.Count(b[:base+off], []byte{'\n'})) + 1
					le := &userbehavior.LineError{File: name, Line: line, Err: fe.err}
					if fe.field >= 0 {
						le.Field = userbehavior.Fields[fe.field]
					}
					err = le
				}
				errs[i] = err
				return
			}
			parts[i] = c
		}(i, base, ch)
		base += len(ch)
	}
	wg.Wait()
	bar.Finish()
	if err := firstError(errs); err != nil {
		return nil, err
	}
	return concat(parts), nil
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

func concat(parts []*columns) *columns {
	if len(parts) == 1 {
		return parts[0]
	}
	n := 0
	for _, p := range parts {
		n += p.len()
	}
	c := &columns{user: make([]uint32, 0, n), item: make([]uint32, 0, n), cate: make([]uint32, 0, n), time: make([]int64, 0, n)}
	for i, p := range parts {
		c.user = append(c.user, p.user...)
		c.item = append(c.item, p.item...)
		c.cate = append(c.cate, p.cate...)
		c.time = append(c.time, p.time...)
		for b := range c.behaviors {
			c.behaviors[b] += p.behaviors[b]
		}
		c.bad += p.bad
		parts[i] = nil
	}
	return c
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
