package bundle

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"

	"nann/engine"
	"nann/hnsw"
	"nann/internal/npy"
	"nann/item"
	"nann/retrieve"
	"nann/serving"
)

// Bundle is a loaded serving bundle: the engine, the graph and the id maps.
// It is safe for concurrent use.
type Bundle struct {
	Manifest *Manifest
	Dir      string

	eng      *engine.Engine
	graph    *hnsw.Graph
	itemRaw  item.ByRow[int64] // item row → original id (ascending)
	cateRaw  []int64           // dense category → original id ([0] = 0, then ascending)
	itemCate item.ByRow[int32] // item row → dense category
	pool     *retrieve.Pool[[]float32]
	seqs     sync.Pool // *[]float32 comm_seq buffers
	flt      filterState
}

// Load is the serving.Loader of bundles, the one `nann serve` gives the
// server: Open as a serving.Servable, or LoadONNX for a version that
// nann import wrote (its manifest names the format "nann-onnx-bundle").
func Load(ctx context.Context, dir string) (serving.Servable, error) {
	if isONNXManifest(dir) {
		return LoadONNX(ctx, dir)
	}
	b, err := Open(ctx, dir)
	if err != nil {
		return nil, err
	}
	return b, nil
}

var _ serving.Loader = Load

// Open opens the bundle in dir after verifying every checksum.
func Open(ctx context.Context, dir string) (*Bundle, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	if err := Verify(dir, m); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b := &Bundle{Manifest: m, Dir: dir}
	if err := b.load(); err != nil {
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	}
	return b, nil
}

func (b *Bundle) load() error {
	var err error
	if b.eng, err = engine.Load(filepath.Join(b.Dir, "engine"), 0); err != nil {
		return err
	}
	if b.graph, err = hnsw.OpenDir(filepath.Join(b.Dir, "index")); err != nil {
		return err
	}
	n := b.eng.NumItems()
	if b.graph.Len() != n || b.Manifest.NumItems != n {
		return fmt.Errorf("graph has %d nodes, engine %d items, manifest %d", b.graph.Len(), n, b.Manifest.NumItems)
	}
	if err := checkLayout(b.Manifest, b.graph); err != nil {
		return err
	}
	if b.itemRaw, _, err = npy.Read[int64](filepath.Join(b.Dir, "item_raw_ids.npy")); err != nil {
		return err
	}
	if b.cateRaw, _, err = npy.Read[int64](filepath.Join(b.Dir, "cate_raw_ids.npy")); err != nil {
		return err
	}
	if b.itemCate, _, err = npy.Read[int32](filepath.Join(b.Dir, "item_cate.npy")); err != nil {
		return err
	}
	if err := b.checkTables(); err != nil {
		return err
	}
	c := b.eng.Config()
	if sig := b.Manifest.Signature; sig.SeqLen != c.SeqLen || sig.SeqWidth != c.SeqWidth() {
		return fmt.Errorf("manifest signature %d×%d does not match the engine's %d×%d", sig.SeqLen, sig.SeqWidth, c.SeqLen, c.SeqWidth())
	}
	if err := checkSignature(b.Manifest.Signature, n); err != nil {
		return err
	}
	if b.pool, err = retrieve.NewPool(b.graph, b.eng.SeqCorpus()); err != nil {
		return err
	}
	b.seqs.New = func() any { s := make([]float32, c.CommSeqLen()); return &s }
	return b.initFilters()
}

// layoutFiles are the files of the graph's NumPy layout in a bundle.
func layoutFiles() []string {
	names := []string{hnsw.EnterPointsFile}
	for l := range hnsw.StartLevel {
		names = append(names, hnsw.ValuesFile(l), hnsw.SplitsFile(l))
	}
	for i, n := range names {
		names[i] = "index/" + n
	}
	return names
}

// checkLayout checks that the bundle's index/*.npy hold graph.hnsw's graph:
// each must be listed in the manifest with the SHA-256 of exactly what
// hnsw.WriteNPY writes for the graph (Verify has already matched the files
// to the manifest). It reports every problem at once.
func checkLayout(m *Manifest, g *hnsw.Graph) error {
	want, err := layoutSums(g)
	if err != nil {
		return err
	}
	listed := map[string]string{}
	for _, f := range m.Files {
		listed[f.Path] = f.SHA256
	}
	var errs []error
	for _, name := range layoutFiles() {
		switch got, ok := listed[name]; {
		case !ok:
			errs = append(errs, fmt.Errorf("%s is missing", name))
		case got != want[name]:
			errs = append(errs, fmt.Errorf("%s does not hold the graph of index/%s (int64 arrays as nann index writes them)", name, hnsw.GraphFile))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("reference NumPy layout: %w", err)
	}
	return nil
}

// layoutSums returns, by bundle path, the SHA-256 of each file that
// g.WriteNPY(dir, hnsw.StartLevel) writes, streaming the arrays into the
// hash instead of building them.
func layoutSums(g *hnsw.Graph) (map[string]string, error) {
	if g.Partial() && g.AdjLevels() < hnsw.StartLevel {
		return nil, fmt.Errorf("graph knows neighbour lists for %d levels, the layout needs %d", g.AdjLevels(), hnsw.StartLevel)
	}
	sum := func(n int, each func(emit func(int64))) string {
		h := sha256.New()
		w := bufio.NewWriterSize(h, 1<<16)
		w.Write(npy.EncodeHeader("<i8", []int{n}))
		var buf [8]byte
		each(func(v int64) {
			binary.LittleEndian.PutUint64(buf[:], uint64(v))
			w.Write(buf[:])
		})
		w.Flush()
		return hex.EncodeToString(h.Sum(nil))
	}
	out := map[string]string{}
	enter := g.EnterPoints(hnsw.StartLevel)
	out["index/"+hnsw.EnterPointsFile] = sum(len(enter), func(emit func(int64)) {
		for _, v := range enter {
			emit(int64(v))
		}
	})
	n := g.Len()
	for l := range hnsw.StartLevel {
		links := 0
		for i := range n {
			links += len(g.Neighbors(l, item.Row(i)))
		}
		out["index/"+hnsw.ValuesFile(l)] = sum(links, func(emit func(int64)) {
			for i := range n {
				for _, v := range g.Neighbors(l, item.Row(i)) {
					emit(int64(v))
				}
			}
		})
		out["index/"+hnsw.SplitsFile(l)] = sum(n+1, func(emit func(int64)) {
			emit(0)
			off := 0
			for i := range n {
				off += len(g.Neighbors(l, item.Row(i)))
				emit(int64(off))
			}
		})
	}
	return out, nil
}

// checkSignature reports every problem with a bundle's served signature for
// a corpus of numItems: the default answer size must be positive and the
// default level_topn must be a setting a request could send, or every
// request that omits level_topn would fail.
func checkSignature(sig Signature, numItems int) error {
	var errs []error
	if sig.K < 1 {
		errs = append(errs, fmt.Errorf("k %d must be positive", sig.K))
	}
	p := &retrieve.ServingParams{}
	for i, v := range sig.DefaultLevelTopN {
		p.LevelTopN[i] = int(v)
	}
	if err := p.ValidateFor(numItems); err != nil {
		errs = append(errs, fmt.Errorf("default level_topn %v: %w", sig.DefaultLevelTopN, err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("manifest signature: %w", err)
	}
	return nil
}

func (b *Bundle) checkTables() error {
	n, c := b.eng.NumItems(), b.eng.Config().NumCates
	switch {
	case len(b.itemRaw) != n:
		return fmt.Errorf("item_raw_ids.npy has %d ids, want %d", len(b.itemRaw), n)
	case len(b.itemCate) != n:
		return fmt.Errorf("item_cate.npy has %d entries, want %d", len(b.itemCate), n)
	case len(b.cateRaw) != c+1:
		return fmt.Errorf("cate_raw_ids.npy has %d ids, want %d", len(b.cateRaw), c+1)
	}
	if i := unsorted(b.itemRaw); i > 0 {
		return fmt.Errorf("item_raw_ids.npy is not strictly ascending: [%d] = %d after [%d] = %d", i, b.itemRaw[i], i-1, b.itemRaw[i-1])
	}
	if i := unsorted(b.cateRaw[1:]); i > 0 {
		return fmt.Errorf("cate_raw_ids.npy is not strictly ascending after [0]: [%d] = %d after [%d] = %d", i+1, b.cateRaw[i+1], i, b.cateRaw[i])
	}
	for i, cat := range b.itemCate {
		if cat < 1 || int(cat) > c {
			return fmt.Errorf("item_cate.npy: item row %d has category %d outside 1..%d", i, cat, c)
		}
	}
	return nil
}

// unsorted is the first index i with v[i] <= v[i-1], or 0 if v is strictly
// ascending.
func unsorted(v []int64) int {
	for i := 1; i < len(v); i++ {
		if v[i] <= v[i-1] {
			return i
		}
	}
	return 0
}

// Engine is the bundle's scoring engine.
func (b *Bundle) Engine() *engine.Engine { return b.eng }

// Graph is the bundle's HNSW graph.
func (b *Bundle) Graph() *hnsw.Graph { return b.graph }

// NumItems is the corpus size.
func (b *Bundle) NumItems() int { return b.eng.NumItems() }

// ItemID maps an item row (as retrieval answers it) to its original id.
func (b *Bundle) ItemID(row item.Row) int64 { return b.rawItem(row) }

// Signature is the served signature.
func (b *Bundle) Signature() serving.Signature {
	s := b.Manifest.Signature
	return serving.Signature{CommSeqLen: s.SeqLen * s.SeqWidth, SeqLen: s.SeqLen, K: s.K, DefaultLevelTopN: s.DefaultLevelTopN, Filters: serving.AllFilters}
}

// Close releases the bundle: it stops the engine's scoring workers.
func (b *Bundle) Close() error { return b.eng.Close() }

// The bundle's original item ids are its item_raw_ids.npy, indexed by item
// row and ascending. itemRow, denseItem and rawItem are the only mappings
// between original ids, dense ids and rows.

// itemRow maps an original item id to its item row; ok is false for an id
// not in the corpus.
func (b *Bundle) itemRow(raw int64) (r item.Row, ok bool) {
	i, ok := slices.BinarySearch(b.itemRaw, raw)
	return item.Row(i), ok
}

// denseItem maps an original item id to its dense id; unknown ids map to
// item.Padding: an item the model never saw contributes nothing, as in the
// reference's zero-masked lookup.
func (b *Bundle) denseItem(raw int64) item.ID {
	r, ok := b.itemRow(raw)
	if !ok {
		return item.Padding
	}
	return r.ID()
}

// rawItem maps an item row to its original id.
func (b *Bundle) rawItem(r item.Row) int64 { return b.itemRaw.At(r) }

func (b *Bundle) denseCate(raw int64) int32 {
	i, ok := slices.BinarySearch(b.cateRaw[1:], raw)
	if !ok {
		return 0
	}
	return int32(i + 1)
}

// CommSeqFromRaw builds the comm_seq of a history given by original ids
// (0 = padding). cates may be nil: each item's own category is used.
func (b *Bundle) CommSeqFromRaw(items, cates []int64, dst []float32) error {
	if cates != nil && len(cates) != len(items) {
		return fmt.Errorf("%d item ids but %d category ids: %w", len(items), len(cates), serving.ErrInvalidInput)
	}
	var di [512]item.ID
	var dc [512]int32
	if len(items) > len(di) {
		return fmt.Errorf("history of %d behaviours is too long: %w", len(items), serving.ErrInvalidInput)
	}
	for i, raw := range items {
		if raw < 0 || (cates != nil && cates[i] < 0) {
			return fmt.Errorf("history position %d: negative id: %w", i, serving.ErrInvalidInput)
		}
		if raw == 0 {
			continue
		}
		di[i] = b.denseItem(raw)
		switch {
		case cates != nil:
			dc[i] = b.denseCate(cates[i])
		case di[i] != item.Padding:
			dc[i] = b.itemCate.At(di[i].Row())
		}
	}
	return b.eng.CommSeq(di[:len(items)], dc[:len(items)], dst)
}

// Retrieve runs serving-form beam retrieval for one comm_seq.
func (b *Bundle) Retrieve(commSeq []float32, levelTopN [6]int32, ans *retrieve.Answer) error {
	p, err := b.servingParams(levelTopN)
	if err != nil {
		return err
	}
	return b.pool.Search(commSeq, p, ans)
}

// servingParams checks a request's level_topn against the corpus.
func (b *Bundle) servingParams(levelTopN [6]int32) (*retrieve.ServingParams, error) {
	p := &retrieve.ServingParams{}
	for i, v := range levelTopN {
		p.LevelTopN[i] = int(v)
	}
	if err := p.ValidateFor(b.NumItems()); err != nil {
		return nil, fmt.Errorf("level_topn: %v: %w", err, serving.ErrInvalidInput)
	}
	return p, nil
}

// Predict answers one served request.
func (b *Bundle) Predict(ctx context.Context, r *serving.Request) (*serving.Response, error) {
	resp := &serving.Response{TopK: make([][]int64, r.Batch), Scores: make([][]float32, r.Batch), ItemsScored: make([]int, r.Batch)}
	bufp := b.seqs.Get().(*[]float32)
	defer b.seqs.Put(bufp)
	dim := len(*bufp)
	if err := checkFilter(r); err != nil {
		return nil, err
	}
	var ans retrieve.Answer
	for row := 0; row < r.Batch; row++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		seq := *bufp
		if r.CommSeq != nil {
			seq = r.CommSeq[row*dim : (row+1)*dim]
		} else {
			var cates []int64
			if r.CateIDs != nil {
				cates = r.CateIDs[row]
			}
			if err := b.CommSeqFromRaw(r.ItemIDs[row], cates, seq); err != nil {
				return nil, fmt.Errorf("row %d: %w", row, err)
			}
		}
		if err := b.retrieveRow(seq, r, row, &ans); err != nil {
			return nil, fmt.Errorf("row %d: %w", row, err)
		}
		ids := make([]int64, len(ans.Rows))
		for i, rw := range ans.Rows {
			ids[i] = b.rawItem(rw)
		}
		resp.TopK[row], resp.Scores[row], resp.ItemsScored[row] = ids, slices.Clone(ans.Scores), ans.Total
	}
	return resp, nil
}
