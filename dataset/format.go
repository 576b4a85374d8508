package dataset

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"nann/internal/safefile"
)

// Binary files of a prepared dataset share one layout, all little-endian:
//
//	offset  size  field
//	0       8     magic: "NANNSEQ1" (sequences) or "NANNSMP1" (samples)
//	8       4     format version (uint32, currently 1)
//	12      4     header size in bytes (uint32, 64)
//	16      8     count A (uint64): users (sequences) or records (samples)
//	24      8     count B (uint64): events (sequences) or 0 (samples)
//	32      4     CRC-32C (Castagnoli) of the payload (all bytes after the header)
//	36      4     CRC-32C of header bytes 0..35
//	40      24    reserved, zero
//	64      ...   payload
//
// Sequences payload: offsets uint64[users+1] (offsets[u]..offsets[u+1] are
// user u's events, offsets[0] = 0, offsets[users] = events), then
// items int32[events], then cates int32[events]; each user's events are in
// chronological order (ties in file order), ids are dense (1..N).
//
// Samples payload: records of two uint32, (user row, position): the target
// is event `position` of that user, the history the up to MaxLength events
// before it. Storing references instead of materialised 50-long histories
// keeps the full UserBehavior data at about 1.5 GB instead of ~40 GB.
const (
	headerSize     = 64
	formatVersion  = 1
	magicSequences = "NANNSEQ1"
	magicSamples   = "NANNSMP1"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// header is the parsed common header.
type header struct {
	magic      string
	countA     uint64
	countB     uint64
	payloadCRC uint32
}

func (h header) encode() []byte {
	b := make([]byte, headerSize)
	copy(b, h.magic)
	binary.LittleEndian.PutUint32(b[8:], formatVersion)
	binary.LittleEndian.PutUint32(b[12:], headerSize)
	binary.LittleEndian.PutUint64(b[16:], h.countA)
	binary.LittleEndian.PutUint64(b[24:], h.countB)
	binary.LittleEndian.PutUint32(b[32:], h.payloadCRC)
	binary.LittleEndian.PutUint32(b[36:], crc32.Checksum(b[:36], castagnoli))
	return b
}

func decodeHeader(b []byte, wantMagic string) (header, error) {
	if len(b) < headerSize {
		return header{}, fmt.Errorf("file is %d bytes, shorter than the %d-byte header", len(b), headerSize)
	}
	if string(b[:8]) != wantMagic {
		return header{}, fmt.Errorf("bad magic %q, want %q", b[:8], wantMagic)
	}
	if got := crc32.Checksum(b[:36], castagnoli); got != binary.LittleEndian.Uint32(b[36:]) {
		return header{}, errors.New("header checksum mismatch")
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != formatVersion {
		return header{}, fmt.Errorf("format version %d, this nann reads version %d", v, formatVersion)
	}
	if hs := binary.LittleEndian.Uint32(b[12:]); hs != headerSize {
		return header{}, fmt.Errorf("header size %d, want %d", hs, headerSize)
	}
	return header{
		magic:      wantMagic,
		countA:     binary.LittleEndian.Uint64(b[16:]),
		countB:     binary.LittleEndian.Uint64(b[24:]),
		payloadCRC: binary.LittleEndian.Uint32(b[32:]),
	}, nil
}

func bytesOf[T uint32 | uint64 | int32 | Sample](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(z)))
}

func sliceOf[T uint64 | int32 | Sample](b []byte) []T {
	if len(b) == 0 {
		return nil
	}
	var z T
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), len(b)/int(unsafe.Sizeof(z)))
}

// writeBinary writes header + payload parts atomically to path.
func writeBinary(path, magic string, countA, countB uint64, parts ...[]byte) error {
	crc := uint32(0)
	for _, p := range parts {
		crc = crc32.Update(crc, castagnoli, p)
	}
	h := header{magic: magic, countA: countA, countB: countB, payloadCRC: crc}
	return safefile.Write(path, func(w io.Writer) error {
		if _, err := w.Write(h.encode()); err != nil {
			return err
		}
		for _, p := range parts {
			if _, err := w.Write(p); err != nil {
				return err
			}
		}
		return nil
	})
}

// WriteSamples writes a samples file.
func WriteSamples(path string, s []Sample) error {
	return writeBinary(path, magicSamples, uint64(len(s)), 0, bytesOf(s))
}

// WriteSequences writes a sequences file. len(offsets) = users+1.
func WriteSequences(path string, offsets []uint64, items, cates []int32) error {
	if len(offsets) == 0 || offsets[len(offsets)-1] != uint64(len(items)) || len(items) != len(cates) {
		return fmt.Errorf("write %s: inconsistent sequences (%d offsets, %d items, %d cates)", path, len(offsets), len(items), len(cates))
	}
	return writeBinary(path, magicSequences, uint64(len(offsets)-1), uint64(len(items)),
		bytesOf(offsets), bytesOf(items), bytesOf(cates))
}

// mapped is a read-only file mapping (or a heap copy for tiny files).
type mapped struct {
	data []byte
	mm   bool
}

func mapFile(path string) (*mapped, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if size == 0 {
		return &mapped{}, nil
	}
	if size > 1<<40 {
		return nil, fmt.Errorf("%s: %d bytes is too large", path, size)
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", path, err)
	}
	// Readers walk these files front to back: ask for read-ahead.
	_ = unix.Madvise(b, unix.MADV_SEQUENTIAL)
	_ = unix.Madvise(b, unix.MADV_WILLNEED)
	return &mapped{data: b, mm: true}, nil
}

func (m *mapped) close() error {
	if m == nil || !m.mm {
		return nil
	}
	m.mm = false
	return unix.Munmap(m.data)
}

// openBinary maps path and validates its header, size and (if verify)
// payload checksum. recordBytes(h) gives the payload size the counts imply.
func openBinary(path, magic string, verify bool, payloadSize func(h header) (uint64, error)) (*mapped, header, error) {
	m, err := mapFile(path)
	if err != nil {
		return nil, header{}, err
	}
	h, err := decodeHeader(m.data, magic)
	if err == nil {
		var want uint64
		want, err = payloadSize(h)
		if err == nil && uint64(len(m.data)-headerSize) != want {
			err = fmt.Errorf("payload is %d bytes, the header's counts need %d (truncated or padded file)", len(m.data)-headerSize, want)
		}
	}
	if err == nil && verify {
		if got := crc32.Checksum(m.data[headerSize:], castagnoli); got != h.payloadCRC {
			err = fmt.Errorf("payload checksum mismatch (file %08x, computed %08x)", h.payloadCRC, got)
		}
	}
	if err != nil {
		m.close()
		return nil, header{}, fmt.Errorf("%s: %w", path, err)
	}
	return m, h, nil
}

const maxCount = 1 << 40

// DecodeSamples parses a whole samples file held in memory (used by the
// fuzzer and by small readers). The returned slice aliases b.
func DecodeSamples(b []byte) ([]Sample, error) {
	h, err := decodeHeader(b, magicSamples)
	if err != nil {
		return nil, err
	}
	if h.countA > maxCount || uint64(len(b)-headerSize) != h.countA*8 {
		return nil, fmt.Errorf("payload is %d bytes, %d records need %d", len(b)-headerSize, h.countA, h.countA*8)
	}
	if got := crc32.Checksum(b[headerSize:], castagnoli); got != h.payloadCRC {
		return nil, errors.New("payload checksum mismatch")
	}
	return sliceOf[Sample](alignedCopy(b[headerSize:])), nil
}

func alignedCopy(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	buf := make([]uint64, (len(b)+7)/8)
	out := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), len(b))
	copy(out, b)
	return out
}
