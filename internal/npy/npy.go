// Package npy reads and writes NumPy .npy files (format versions 1.0, 2.0
// and 3.0; C order; little-endian int32, int64, float16, float32, float64).
//
// Readers validate everything before allocating: the header dictionary, the
// dtype against the requested Go type, and that the shape's element count
// matches the bytes present, so a truncated or hostile file yields an error
// naming the file and the problem, never a panic or a huge allocation.
package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"nann/internal/safefile"
)

// Elem is a Go element type that maps to one NumPy dtype.
type Elem interface {
	int32 | int64 | float32 | float64 | uint16
}

// descrFloat16 is the dtype of half-precision data, held in Go as uint16
// bit patterns: use WriteFloat16/ReadFloat16 for them.
const descrFloat16 = "<f2"

var magic = []byte("\x93NUMPY")

// Header is a parsed .npy header.
type Header struct {
	Descr   string
	Fortran bool
	Shape   []int
}

// Len is the number of elements the shape describes.
func (h Header) Len() int {
	n := 1
	for _, s := range h.Shape {
		n *= s
	}
	return n
}

func descrOf[T Elem]() string {
	var z T
	switch any(z).(type) {
	case int32:
		return "<i4"
	case int64:
		return "<i8"
	case float32:
		return "<f4"
	case float64:
		return "<f8"
	case uint16:
		return "<u2"
	}
	panic("npy: unsupported element type")
}

// EncodeHeader returns a version 1.0 header (padded to 64 bytes as NumPy
// does) for the given dtype and shape.
func EncodeHeader(descr string, shape []int) []byte {
	var sb strings.Builder
	sb.WriteString("{'descr': '")
	sb.WriteString(descr)
	sb.WriteString("', 'fortran_order': False, 'shape': (")
	for i, s := range shape {
		sb.WriteString(strconv.Itoa(s))
		if i < len(shape)-1 || len(shape) == 1 {
			sb.WriteString(",")
		}
		if i < len(shape)-1 {
			sb.WriteString(" ")
		}
	}
	sb.WriteString("), }")
	dict := sb.String()
	total := len(magic) + 2 + 2 + len(dict) + 1
	pad := (64 - total%64) % 64
	dict += strings.Repeat(" ", pad) + "\n"
	out := make([]byte, 0, len(magic)+4+len(dict))
	out = append(out, magic...)
	out = append(out, 1, 0)
	out = binary.LittleEndian.AppendUint16(out, uint16(len(dict)))
	out = append(out, dict...)
	return out
}

func checkShape(n int, shape []int) ([]int, error) {
	if len(shape) == 0 {
		return []int{n}, nil
	}
	p := 1
	for _, s := range shape {
		if s < 0 {
			return nil, fmt.Errorf("npy: negative dimension in shape %v", shape)
		}
		p *= s
	}
	if p != n {
		return nil, fmt.Errorf("npy: shape %v holds %d elements, data has %d", shape, p, n)
	}
	return shape, nil
}

func asBytes[T Elem](data []T) []byte {
	if len(data) == 0 {
		return nil
	}
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), len(data)*int(unsafe.Sizeof(z)))
}

// WriteTo writes a complete .npy stream with the given dtype descriptor.
func writeStream[T Elem](w io.Writer, descr string, data []T, shape []int) error {
	shape, err := checkShape(len(data), shape)
	if err != nil {
		return err
	}
	if _, err := w.Write(EncodeHeader(descr, shape)); err != nil {
		return err
	}
	_, err = w.Write(asBytes(data))
	return err
}

// Encode writes data as a .npy stream to w. Shape defaults to 1-D.
func Encode[T Elem](w io.Writer, data []T, shape ...int) error {
	return writeStream(w, descrOf[T](), data, shape)
}

// Write writes data to path atomically. Shape defaults to 1-D.
func Write[T Elem](path string, data []T, shape ...int) error {
	return safefile.Write(path, func(w io.Writer) error { return Encode(w, data, shape...) })
}

// WriteFloat16 writes IEEE half-precision bit patterns with dtype '<f2'.
func WriteFloat16(path string, bits []uint16, shape ...int) error {
	return safefile.Write(path, func(w io.Writer) error { return writeStream(w, descrFloat16, bits, shape) })
}

// ParseHeader reads the header at the start of b and returns it with the
// offset of the data.
func ParseHeader(b []byte) (Header, int, error) {
	if len(b) < 10 || !bytes.Equal(b[:6], magic) {
		return Header{}, 0, errors.New("npy: not a .npy file (bad magic)")
	}
	major := b[6]
	var hlen, off int
	switch major {
	case 1:
		hlen, off = int(binary.LittleEndian.Uint16(b[8:10])), 10
	case 2, 3:
		if len(b) < 12 {
			return Header{}, 0, errors.New("npy: truncated header")
		}
		hlen, off = int(binary.LittleEndian.Uint32(b[8:12])), 12
	default:
		return Header{}, 0, fmt.Errorf("npy: unsupported format version %d.%d", major, b[7])
	}
	if hlen > len(b)-off {
		return Header{}, 0, fmt.Errorf("npy: header length %d exceeds file size %d", hlen, len(b))
	}
	h, err := parseDict(string(b[off : off+hlen]))
	if err != nil {
		return Header{}, 0, err
	}
	return h, off + hlen, nil
}

// parseDict parses the Python dict literal of a .npy header.
func parseDict(s string) (Header, error) {
	var h Header
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return h, fmt.Errorf("npy: header is not a dict: %.80q", s)
	}
	body := s[1 : len(s)-1]
	var seenDescr, seenOrder, seenShape bool
	for len(strings.TrimSpace(body)) > 0 {
		body = strings.TrimLeft(body, " ,")
		if body == "" {
			break
		}
		key, rest, err := pyString(body)
		if err != nil {
			return h, fmt.Errorf("npy: header key: %w", err)
		}
		rest = strings.TrimLeft(rest, " ")
		if !strings.HasPrefix(rest, ":") {
			return h, fmt.Errorf("npy: header: missing ':' after %q", key)
		}
		rest = strings.TrimLeft(rest[1:], " ")
		switch key {
		case "descr":
			h.Descr, rest, err = pyString(rest)
			seenDescr = true
		case "fortran_order":
			switch {
			case strings.HasPrefix(rest, "False"):
				rest = rest[5:]
			case strings.HasPrefix(rest, "True"):
				h.Fortran, rest = true, rest[4:]
			default:
				err = errors.New("fortran_order is not True or False")
			}
			seenOrder = true
		case "shape":
			h.Shape, rest, err = pyTuple(rest)
			seenShape = true
		default:
			err = fmt.Errorf("unknown key %q", key)
		}
		if err != nil {
			return h, fmt.Errorf("npy: header: %w", err)
		}
		body = rest
	}
	if !seenDescr || !seenOrder || !seenShape {
		return h, errors.New("npy: header lacks descr, fortran_order or shape")
	}
	return h, nil
}

func pyString(s string) (string, string, error) {
	if s == "" || (s[0] != '\'' && s[0] != '"') {
		return "", s, fmt.Errorf("expected a quoted string at %.20q", s)
	}
	end := strings.IndexByte(s[1:], s[0])
	if end < 0 {
		return "", s, errors.New("unterminated string")
	}
	return s[1 : 1+end], s[end+2:], nil
}

func pyTuple(s string) ([]int, string, error) {
	if !strings.HasPrefix(s, "(") {
		return nil, s, errors.New("shape is not a tuple")
	}
	end := strings.IndexByte(s, ')')
	if end < 0 {
		return nil, s, errors.New("unterminated shape tuple")
	}
	shape := []int{}
	for _, f := range strings.Split(s[1:end], ",") {
		f = strings.TrimSpace(f)
		f = strings.TrimSuffix(f, "L")
		if f == "" {
			continue
		}
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil || v < 0 || v > math.MaxInt32*64 {
			return nil, s, fmt.Errorf("bad dimension %q", f)
		}
		shape = append(shape, int(v))
	}
	if len(shape) > 8 {
		return nil, s, fmt.Errorf("shape has %d dimensions", len(shape))
	}
	return shape, s[end+1:], nil
}

func itemSize(descr string) int {
	if len(descr) < 3 {
		return 0
	}
	n, err := strconv.Atoi(descr[2:])
	if err != nil {
		return 0
	}
	return n
}

// Decode parses a whole .npy file held in b as elements of type T. The
// file's dtype must be T's (float16 files decode as uint16 bit patterns;
// int32 files may also be read as int64 and vice versa for convenience
// only through DecodeInts).
func Decode[T Elem](b []byte) ([]T, []int, error) {
	return decodeAs[T](b, descrOf[T]())
}

func decodeAs[T Elem](b []byte, want string) ([]T, []int, error) {
	h, off, err := ParseHeader(b)
	if err != nil {
		return nil, nil, err
	}
	if h.Fortran {
		return nil, nil, errors.New("npy: Fortran-order arrays are not supported")
	}
	if h.Descr != want && !(want == "<u2" && h.Descr == descrFloat16) && !(want == descrFloat16 && h.Descr == "<u2") {
		return nil, nil, fmt.Errorf("npy: dtype is %q, want %q", h.Descr, want)
	}
	size := itemSize(want)
	limit := (len(b)-off)/size + 1
	n := 1
	for _, s := range h.Shape {
		if s != 0 && n > limit/s {
			return nil, nil, fmt.Errorf("npy: shape %v needs more bytes than the file's %d", h.Shape, len(b))
		}
		n *= s
	}
	if n*size != len(b)-off {
		return nil, nil, fmt.Errorf("npy: shape %v of %s needs %d data bytes, file has %d", h.Shape, h.Descr, n*size, len(b)-off)
	}
	out := make([]T, n)
	copy(asBytes(out), b[off:])
	return out, h.Shape, nil
}

// Read reads a .npy file of element type T.
func Read[T Elem](path string) ([]T, []int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	out, shape, err := Decode[T](b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, shape, nil
}

// ReadFloat16 reads a '<f2' file as raw half-precision bit patterns.
func ReadFloat16(path string) ([]uint16, []int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	out, shape, err := decodeAs[uint16](b, descrFloat16)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, shape, nil
}

// ReadInts reads an integer .npy file of dtype int32 or int64 as int64,
// as tools differ in which they write for ids.
func ReadInts(path string) ([]int64, []int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	h, _, err := ParseHeader(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if h.Descr == "<i4" {
		v, shape, err := Decode[int32](b)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		out := make([]int64, len(v))
		for i, x := range v {
			out[i] = int64(x)
		}
		return out, shape, nil
	}
	v, shape, err := Decode[int64](b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, shape, nil
}
