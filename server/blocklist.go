package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"nann/serving"
)

// BlocklistName is the file, inside a model's base path (beside the
// version directories), holding the raw item ids that must never be
// answered, unless Config.BlocklistFile names another.
const BlocklistName = "blocklist.txt"

// maxBlocklistBytes bounds a blocklist file (about 5 M ids).
const maxBlocklistBytes = 64 << 20

func (s *Server) blocklistPath(mc ModelConfig) string {
	if s.cfg.BlocklistFile != "" && s.cfg.ModelConfigFile == "" {
		return s.cfg.BlocklistFile
	}
	return filepath.Join(mc.BasePath, BlocklistName)
}

// parseBlocklist reads a blocklist: one raw item id (a positive integer) a
// line; blank lines and text after # are ignored. The first bad line is
// reported by number.
func parseBlocklist(path string, b []byte) (*serving.ItemSet, error) {
	var ids []int64
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		t := sc.Bytes()
		if i := bytes.IndexByte(t, '#'); i >= 0 {
			t = t[:i]
		}
		t = bytes.TrimSpace(t)
		if len(t) == 0 {
			continue
		}
		id, err := strconv.ParseInt(string(t), 10, 64)
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("%s:%d: %q is not a raw item id (want one positive integer a line, # comments)", path, line, truncate(string(t), 40))
		}
		ids = append(ids, id)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", path, line+1, err)
	}
	return serving.NewItemSet(ids), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// blocklistState is the list in force and where it came from.
type blocklistState struct {
	set   *serving.ItemSet // nil: nothing blocked
	mtime time.Time        // of the file it was read from; zero without a file
}

// blocklistWatch polls one model's blocklist file. The list in force is
// swapped atomically, so every request sees either the old or the new one.
type blocklistWatch struct {
	path  string
	model string
	log   *slog.Logger
	met   *metrics
	cur   atomic.Pointer[blocklistState]

	mu      sync.Mutex  // one poll at a time
	seen    fs.FileInfo // the file last read (applied or not)
	lastErr string
	// warnedNo is set once a servable that cannot exclude blocked items
	// has been warned about.
	warnedNo atomic.Bool
}

func newBlocklistWatch(path string, log *slog.Logger, met *metrics, model string) *blocklistWatch {
	w := &blocklistWatch{path: path, model: model, log: log, met: met}
	w.cur.Store(&blocklistState{})
	met.blocklists.add(model, w)
	return w
}

// current is the list in force (nil: nothing blocked).
func (w *blocklistWatch) current() *serving.ItemSet { return w.cur.Load().set }

// poll re-reads the file if it changed since the last poll (another file,
// size or modification time). A missing file blocks nothing; a file that
// cannot be read or parsed keeps the list in force and is logged once.
func (w *blocklistWatch) poll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	info, err := os.Stat(w.path)
	if errors.Is(err, fs.ErrNotExist) {
		if w.seen != nil || w.lastErr != "" {
			w.log.Info("blocklist file is gone: no items are blocked any more", "file", w.path)
		}
		w.seen, w.lastErr = nil, ""
		w.cur.Store(&blocklistState{})
		return
	}
	if err == nil && w.seen != nil && os.SameFile(info, w.seen) && info.Size() == w.seen.Size() && info.ModTime().Equal(w.seen.ModTime()) {
		return
	}
	var set *serving.ItemSet
	if err == nil {
		if info.Size() > maxBlocklistBytes {
			err = fmt.Errorf("%s: %d bytes, more than the %d a blocklist may hold", w.path, info.Size(), maxBlocklistBytes)
		} else {
			var b []byte
			if b, err = os.ReadFile(w.path); err == nil {
				set, err = parseBlocklist(w.path, b)
			}
		}
	}
	if err != nil {
		w.seen = info // retried when the file changes again
		w.met.blocklistFails.WithLabelValues(w.model).Inc()
		if msg := err.Error(); msg != w.lastErr {
			w.lastErr = msg
			w.log.Error("blocklist file not applied; the previous list stays in force", "file", w.path, "err", err, "blocked", w.current().Len())
		}
		return
	}
	w.seen, w.lastErr = info, ""
	prev := w.current().Len()
	st := &blocklistState{mtime: info.ModTime()}
	if set.Len() > 0 {
		st.set = set
	}
	w.cur.Store(st)
	w.log.Info("blocklist applied", "file", w.path, "blocked", set.Len(), "previous", prev)
}

// blocklistCollector reports, at scrape time, each model's blocklist size
// and the age of the file it came from.
type blocklistCollector struct {
	size, age *prometheus.Desc
	mu        sync.Mutex
	watches   map[string]*blocklistWatch
}

func (c *blocklistCollector) init() {
	c.size = prometheus.NewDesc("nann_serve_blocklist_items", "Raw item ids blocked from answers, by model.", []string{"model"}, nil)
	c.age = prometheus.NewDesc("nann_serve_blocklist_age_seconds", "Age of the blocklist in force (now minus its file's modification time), by model; absent while no file is in force.", []string{"model"}, nil)
	c.watches = map[string]*blocklistWatch{}
}

func (c *blocklistCollector) add(model string, w *blocklistWatch) {
	c.mu.Lock()
	c.watches[model] = w
	c.mu.Unlock()
}

// remove forgets model's watch if it is still w (a model whose base path
// changed has a new one).
func (c *blocklistCollector) remove(model string, w *blocklistWatch) {
	c.mu.Lock()
	if c.watches[model] == w {
		delete(c.watches, model)
	}
	c.mu.Unlock()
}

func (c *blocklistCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.size
	ch <- c.age
}

func (c *blocklistCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for model, w := range c.watches {
		st := w.cur.Load()
		ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(st.set.Len()), model)
		if !st.mtime.IsZero() {
			age := max(time.Since(st.mtime), 0) // 0 for a file from the future (clock skew)
			ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age.Seconds(), model)
		}
	}
}

// applyBlocklist removes blocked items from resp's rows: a Servable that
// excludes them itself (serving.BlockedItemsExcluder) never returns one (if
// it does, that is logged as the bug it is); for others this is the only
// exclusion, and rows may come out short.
func (s *Server) applyBlocklist(m *model, v *version, set *serving.ItemSet, resp *serving.Response) {
	if set.Len() == 0 {
		return
	}
	ex, _ := v.servable.(serving.BlockedItemsExcluder)
	excludes := ex != nil && ex.ExcludesBlockedItems()
	dropped := 0
	for r, ids := range resp.TopK { // rows checked by checkResponse
		scores, k := resp.Scores[r], 0
		for j, id := range ids {
			if set.Has(id) {
				dropped++
				continue
			}
			ids[k], scores[k] = id, scores[j]
			k++
		}
		resp.TopK[r], resp.Scores[r] = ids[:k], scores[:k]
	}
	switch {
	case dropped > 0 && excludes:
		s.log.Error("servable returned blocked items although it excludes them; removed from the answer", "model", m.name, "version", v.num, "removed", dropped)
	case !excludes:
		if !m.block.warnedNo.Swap(true) {
			s.log.Warn("servable does not exclude blocked items inside retrieval; they are removed from its answers, which may then be short", "model", m.name, "version", v.num)
		}
	}
}
