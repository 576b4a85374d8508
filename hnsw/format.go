package hnsw

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"

	"nann/internal/safefile"
)

// The graph.hnsw file, all integers little-endian:
//
//	magic     8 bytes "NANNHNSW"
//	version   uint32 (1)
//	flags     uint32 (bit 0: partial, i.e. lists unknown for the top levels)
//	n         uint64 nodes
//	dim       uint32 vector dimension (0 unknown)
//	m, efc    uint32 build parameters (0 unknown)
//	adjLevels uint32 levels with neighbour lists (1..64)
//	entry     int32  entry point (-1 iff n = 0)
//	level     n bytes, the top level of each node, then zero padding to a
//	          multiple of 4 bytes
//	per level l < adjLevels:
//	  links   uint64
//	  offsets (n+1) uint32, CSR row offsets
//	  values  links int32, neighbour ids
//	crc       uint32 CRC-32C (Castagnoli) of every preceding byte
const (
	fileMagic     = "NANNHNSW"
	fileVersion   = 1
	flagPartial   = 1
	headerSize    = 8 + 4 + 4 + 8 + 4 + 4 + 4 + 4 + 4
	maxAdjLevels  = 64
	maxFileLevels = maxLevelCap + 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Write saves g to path atomically in the graph.hnsw format.
func (g *Graph) Write(path string) error {
	return safefile.Write(path, func(w io.Writer) error { return g.Encode(w) })
}

// Encode writes g in the graph.hnsw format.
func (g *Graph) Encode(w io.Writer) error {
	h := crc32.New(castagnoli)
	mw := io.MultiWriter(w, h)
	var flags uint32
	if g.partial {
		flags |= flagPartial
	}
	hdr := make([]byte, 0, headerSize+len(g.level)+3)
	hdr = append(hdr, fileMagic...)
	hdr = binary.LittleEndian.AppendUint32(hdr, fileVersion)
	hdr = binary.LittleEndian.AppendUint32(hdr, flags)
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(g.n))
	for _, v := range []int{g.dim, g.m, g.efc, len(g.adj)} {
		hdr = binary.LittleEndian.AppendUint32(hdr, uint32(v))
	}
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(g.entry))
	hdr = append(hdr, g.level...)
	hdr = append(hdr, make([]byte, pad4(len(g.level)))...)
	if _, err := mw.Write(hdr); err != nil {
		return err
	}
	for _, a := range g.adj {
		if _, err := mw.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(a.val)))); err != nil {
			return err
		}
		if err := writeWords(mw, a.off); err != nil {
			return err
		}
		if err := writeWords(mw, a.val); err != nil {
			return err
		}
	}
	_, err := w.Write(binary.LittleEndian.AppendUint32(nil, h.Sum32()))
	return err
}

// writeWords writes 32-bit words little-endian in 64 KiB chunks.
func writeWords[T uint32 | int32](w io.Writer, v []T) error {
	buf := make([]byte, 0, 1<<16)
	for len(v) > 0 {
		k := min(len(v), cap(buf)/4)
		buf = buf[:0]
		for _, x := range v[:k] {
			buf = binary.LittleEndian.AppendUint32(buf, uint32(x))
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
		v = v[k:]
	}
	return nil
}

func pad4(n int) int { return (4 - n%4) % 4 }

// Read loads a graph.hnsw file, verifying its checksum and structure.
func Read(path string) (*Graph, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	g, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// Decode parses a whole graph.hnsw file held in b. Every size is checked
// against the bytes present before anything is allocated.
func Decode(b []byte) (*Graph, error) {
	if len(b) < headerSize+4 {
		return nil, fmt.Errorf("hnsw file: %d bytes, shorter than the %d-byte header and checksum", len(b), headerSize+4)
	}
	if !bytes.Equal(b[:8], []byte(fileMagic)) {
		return nil, errors.New("hnsw file: bad magic, not a graph.hnsw file")
	}
	r := reader{b: b[:len(b)-4], off: 8}
	if v := r.u32(); v != fileVersion {
		return nil, fmt.Errorf("hnsw file: version %d, this build reads version %d", v, fileVersion)
	}
	body := b[:len(b)-4]
	if want, got := binary.LittleEndian.Uint32(b[len(b)-4:]), crc32.Checksum(body, castagnoli); want != got {
		return nil, fmt.Errorf("hnsw file: checksum mismatch (stored %08x, computed %08x): file is corrupt or truncated", want, got)
	}
	flags := r.u32()
	if flags&^flagPartial != 0 {
		return nil, fmt.Errorf("hnsw file: unknown flags %#x", flags)
	}
	n64 := r.u64()
	dim, m, efc, nadj := r.u32(), r.u32(), r.u32(), r.u32()
	entry := int32(r.u32())
	if n64 > math.MaxInt32 || n64 > uint64(len(body)) {
		return nil, fmt.Errorf("hnsw file: node count %d impossible for a %d-byte file", n64, len(b))
	}
	if nadj > maxAdjLevels || (n64 > 0 && nadj == 0) {
		return nil, fmt.Errorf("hnsw file: %d adjacency levels, want 1..%d", nadj, maxAdjLevels)
	}
	if dim > 1<<20 || m > 1<<20 || efc > 1<<20 {
		return nil, fmt.Errorf("hnsw file: implausible dim %d, M %d or efConstruction %d", dim, m, efc)
	}
	n := int(n64)
	g := &Graph{n: n, dim: int(dim), m: int(m), efc: int(efc), entry: entry, partial: flags&flagPartial != 0}
	lv, err := r.bytes(n + pad4(n))
	if err != nil {
		return nil, fmt.Errorf("hnsw file: node levels: %w", err)
	}
	g.level = append([]uint8(nil), lv[:n]...)
	for i, l := range g.level {
		if l > maxFileLevels {
			return nil, fmt.Errorf("hnsw file: node %d has level %d, above %d", i, l, maxFileLevels)
		}
	}
	for l := range int(nadj) {
		a, err := r.adjacency(n)
		if err != nil {
			return nil, fmt.Errorf("hnsw file: level %d: %w", l, err)
		}
		g.adj = append(g.adj, a)
	}
	if r.off != len(body) {
		return nil, fmt.Errorf("hnsw file: %d unexpected bytes before the checksum", len(body)-r.off)
	}
	g.finish()
	if n == 0 && entry != -1 {
		return nil, fmt.Errorf("hnsw file: empty graph with entry point %d", entry)
	}
	if err := g.validate(); err != nil {
		return nil, fmt.Errorf("hnsw file: %w", err)
	}
	return g, nil
}

// reader is a bounds-checked cursor over a byte slice. Fixed-size reads
// are only used within the header, whose length is checked up front.
type reader struct {
	b   []byte
	off int
}

func (r *reader) u32() uint32 {
	v := binary.LittleEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v
}

func (r *reader) u64() uint64 {
	v := binary.LittleEndian.Uint64(r.b[r.off:])
	r.off += 8
	return v
}

func (r *reader) bytes(k int) ([]byte, error) {
	if k < 0 || k > len(r.b)-r.off {
		return nil, fmt.Errorf("needs %d bytes at offset %d, file has %d left: truncated", k, r.off, len(r.b)-r.off)
	}
	s := r.b[r.off : r.off+k]
	r.off += k
	return s, nil
}

func (r *reader) adjacency(n int) (adjacency, error) {
	hdr, err := r.bytes(8)
	if err != nil {
		return adjacency{}, err
	}
	links := binary.LittleEndian.Uint64(hdr)
	if links > uint64(len(r.b)) || links > math.MaxUint32 {
		return adjacency{}, fmt.Errorf("link count %d impossible for the file size", links)
	}
	raw, err := r.bytes(4 * (n + 1 + int(links)))
	if err != nil {
		return adjacency{}, err
	}
	a := adjacency{off: make([]uint32, n+1), val: make([]int32, links)}
	for i := range a.off {
		a.off[i] = binary.LittleEndian.Uint32(raw[4*i:])
	}
	raw = raw[4*(n+1):]
	for i := range a.val {
		a.val[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return a, nil
}
