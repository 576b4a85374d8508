package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"nann/internal/meter"
	"nann/internal/safefile"
	"nann/nn"
)

// A checkpoint file, all little-endian:
//
//	offset  size  field
//	0       8     magic "NANNCKPT"
//	8       4     format version (uint32, 1)
//	12      4     meta length J (uint32)
//	16      8     payload length P in bytes (uint64)
//	24      J     meta: JSON ckptMeta (positions, RNG, tensor directory),
//	              space-padded so that the payload starts at a multiple of 8
//	24+J    P     payload: float32 tensors, concatenated
//	24+J+P  32    SHA-256 of every byte before it
//
// A tensor is identified by kind and name: "param" (trainable), "state"
// (BatchNorm moving averages), "adam_m" / "adam_v" (optimiser moments of
// the param of that name). model.ckpt holds params and state only.
const (
	ckptMagic   = "NANNCKPT"
	ckptVersion = 1
	ckptFixed   = 24
	maxMetaLen  = 64 << 20
)

// Tensor kinds in a checkpoint.
const (
	kindParam = "param"
	kindState = "state"
	kindM     = "adam_m"
	kindV     = "adam_v"
)

// Position is where training stands: the number of completed steps and the
// data position they imply.
type Position struct {
	Step        int64  `json:"step"`          // completed optimiser steps
	Epoch       int    `json:"epoch"`         // epoch of the next step (0-based)
	StepInEpoch int64  `json:"step_in_epoch"` // index of the next step within its epoch
	ShuffleSeed uint64 `json:"shuffle_seed"`  // epoch e is shuffled with PCG(ShuffleSeed, e)
	Samples     int64  `json:"samples"`       // training samples consumed
}

type tensorEntry struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Shape  []int  `json:"shape"`
	Offset int64  `json:"offset"` // in float32 elements from the payload start
	Len    int64  `json:"len"`
}

type ckptMeta struct {
	Position
	Replicas int    `json:"replicas"`
	RNG      []byte `json:"rng,omitempty"` // math/rand/v2 PCG MarshalBinary
	// Early is the early-stopping state after the checkpoint's step (nil
	// before the first validation).
	Early   *EarlyState   `json:"early,omitempty"`
	Tensors []tensorEntry `json:"tensors"`
}

// Checkpoint is a decoded checkpoint.
type Checkpoint struct {
	Position
	Replicas int
	RNG      []byte
	Early    *EarlyState
	tensors  map[string]tensorEntry // key kind+"/"+name
	payload  []float32
}

type namedTensor struct {
	kind, name string
	shape      []int
	w          []float32
}

// writeCheckpoint writes a checkpoint atomically.
func writeCheckpoint(path string, meta ckptMeta, ts []namedTensor) error {
	off := int64(0)
	meta.Tensors = meta.Tensors[:0]
	for _, t := range ts {
		meta.Tensors = append(meta.Tensors, tensorEntry{Kind: t.kind, Name: t.name, Shape: t.shape, Offset: off, Len: int64(len(t.w))})
		off += int64(len(t.w))
	}
	mj, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	for (ckptFixed+len(mj))%8 != 0 { // align the payload (JSON allows trailing spaces)
		mj = append(mj, ' ')
	}
	return safefile.Write(path, func(w io.Writer) error {
		h := sha256.New()
		mw := io.MultiWriter(w, h)
		var fixed [ckptFixed]byte
		copy(fixed[:], ckptMagic)
		binary.LittleEndian.PutUint32(fixed[8:], ckptVersion)
		binary.LittleEndian.PutUint32(fixed[12:], uint32(len(mj)))
		binary.LittleEndian.PutUint64(fixed[16:], uint64(off)*4)
		if _, err := mw.Write(fixed[:]); err != nil {
			return err
		}
		if _, err := mw.Write(mj); err != nil {
			return err
		}
		for _, t := range ts {
			if _, err := mw.Write(f32bytes(t.w)); err != nil {
				return err
			}
		}
		_, err := w.Write(h.Sum(nil))
		return err
	})
}

func f32bytes(s []float32) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*4)
}

// f32view returns b as float32s: aliased when b is 4-byte aligned (a
// checkpoint read whole pads its meta so that it is), copied otherwise.
func f32view(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	if uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
		return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
	}
	out := make([]float32, len(b)/4)
	copy(f32bytes(out), b)
	return out
}

// maxCkptBytes bounds the size of a checkpoint file that is read whole.
const maxCkptBytes = 64 << 30

// readCheckpoint reads and verifies a checkpoint file.
func readCheckpoint(path string) (*Checkpoint, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxCkptBytes {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d-byte limit", path, st.Size(), int64(maxCkptBytes))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := decodeCheckpoint(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func decodeCheckpoint(b []byte) (*Checkpoint, error) {
	if len(b) < ckptFixed+sha256.Size {
		return nil, fmt.Errorf("%d bytes, too short for a checkpoint (truncated?)", len(b))
	}
	if string(b[:8]) != ckptMagic {
		return nil, fmt.Errorf("bad magic %q, want %q", b[:8], ckptMagic)
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, errors.New("SHA-256 mismatch (truncated or corrupt file)")
	}
	return parseCheckpoint(body)
}

// parseCheckpoint decodes a checkpoint whose checksum has been verified
// (body excludes the trailing SHA-256).
func parseCheckpoint(b []byte) (*Checkpoint, error) {
	if len(b) < ckptFixed || string(b[:8]) != ckptMagic {
		return nil, errors.New("not a checkpoint")
	}
	body := b
	if v := binary.LittleEndian.Uint32(b[8:]); v != ckptVersion {
		return nil, fmt.Errorf("format version %d, this nann reads version %d", v, ckptVersion)
	}
	mlen := uint64(binary.LittleEndian.Uint32(b[12:]))
	plen := binary.LittleEndian.Uint64(b[16:])
	if mlen > maxMetaLen || plen%4 != 0 || uint64(len(body)) != ckptFixed+mlen+plen {
		return nil, fmt.Errorf("meta %d + payload %d bytes do not match the file's %d", mlen, plen, len(body))
	}
	var meta ckptMeta
	if err := json.Unmarshal(body[ckptFixed:ckptFixed+mlen], &meta); err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	payload := f32view(body[ckptFixed+mlen:])
	c := &Checkpoint{Position: meta.Position, Replicas: meta.Replicas, RNG: meta.RNG, Early: meta.Early, tensors: map[string]tensorEntry{}, payload: payload}
	for _, t := range meta.Tensors {
		n := int64(1)
		for _, d := range t.Shape {
			if d < 0 || (d > 0 && n > math.MaxInt64/int64(d)) {
				n = -1
				break
			}
			n *= int64(d)
		}
		if n != t.Len || t.Offset < 0 || t.Offset+t.Len > int64(len(payload)) {
			return nil, fmt.Errorf("tensor %s %s: shape %v, %d elements at %d, payload has %d", t.Kind, t.Name, t.Shape, t.Len, t.Offset, len(payload))
		}
		c.tensors[t.Kind+"/"+t.Name] = t
	}
	return c, nil
}

// load copies the tensor (kind, name) into dst after checking its shape.
func (c *Checkpoint) load(kind, name string, shape []int, dst []float32) error {
	t, ok := c.tensors[kind+"/"+name]
	if !ok {
		return fmt.Errorf("tensor %s %q is missing", kind, name)
	}
	if !slices.Equal(t.Shape, shape) || int64(len(dst)) != t.Len {
		return fmt.Errorf("tensor %s %q has shape %v, the model wants %v", kind, name, t.Shape, shape)
	}
	copy(dst, c.payload[t.Offset:t.Offset+t.Len])
	return nil
}

// loadParams restores params and state (and, if opt is not nil, the
// optimiser moments) and checks that the checkpoint holds nothing else of
// those kinds.
func (c *Checkpoint) loadParams(params, state []*nn.Param, opt *AdamW) error {
	var errs []error
	want := 0
	for i, p := range params {
		errs = append(errs, c.load(kindParam, p.Name, p.Shape, p.W))
		want++
		if opt != nil {
			errs = append(errs, c.load(kindM, p.Name, p.Shape, opt.M[i]), c.load(kindV, p.Name, p.Shape, opt.V[i]))
			want += 2
		}
	}
	for _, p := range state {
		errs = append(errs, c.load(kindState, p.Name, p.Shape, p.W))
		want++
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if opt == nil {
		want = 0
		for k := range c.tensors {
			if strings.HasPrefix(k, kindParam+"/") || strings.HasPrefix(k, kindState+"/") {
				want--
			}
		}
		if -want != len(params)+len(state) {
			return fmt.Errorf("checkpoint holds %d params and state tensors, the model has %d", -want, len(params)+len(state))
		}
		return nil
	}
	if len(c.tensors) != want {
		return fmt.Errorf("checkpoint holds %d tensors, the model and optimiser have %d", len(c.tensors), want)
	}
	return nil
}

func modelTensors(params, state []*nn.Param, opt *AdamW) []namedTensor {
	var ts []namedTensor
	for i, p := range params {
		ts = append(ts, namedTensor{kindParam, p.Name, p.Shape, p.W})
		if opt != nil {
			ts = append(ts, namedTensor{kindM, p.Name, p.Shape, opt.M[i]}, namedTensor{kindV, p.Name, p.Shape, opt.V[i]})
		}
	}
	for _, p := range state {
		ts = append(ts, namedTensor{kindState, p.Name, p.Shape, p.W})
	}
	return ts
}

// Checkpoint file names in RUN/ckpt.
const ckptDir = "ckpt"

func ckptName(step int64) string { return fmt.Sprintf("step-%09d.ckpt", step) }

// listCheckpoints returns the checkpoint files of a run, newest first.
func listCheckpoints(runDir string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(runDir, ckptDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	type f struct {
		step int64
		path string
	}
	var fs []f
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, "step-") || !strings.HasSuffix(n, ".ckpt") {
			continue
		}
		s, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(n, "step-"), ".ckpt"), 10, 64)
		if err != nil {
			continue
		}
		fs = append(fs, f{s, filepath.Join(runDir, ckptDir, n)})
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].step > fs[j].step })
	out := make([]string, len(fs))
	for i := range fs {
		out[i] = fs[i].path
	}
	return out, nil
}

// newestCheckpoint returns the newest checkpoint of runDir that reads and
// verifies, warning about each newer one that does not; nil if none.
// accept may reject a readable checkpoint (e.g. one that does not fit the
// model); it is then treated like a corrupt one.
func newestCheckpoint(runDir string, log *slog.Logger, accept func(*Checkpoint) error) (*Checkpoint, string, error) {
	files, err := listCheckpoints(runDir)
	if err != nil {
		return nil, "", err
	}
	for _, p := range files {
		c, err := readCheckpoint(p)
		if err == nil && accept != nil {
			err = accept(c)
		}
		if err != nil {
			meter.Logger(log).Warn("checkpoint unusable, trying the previous one", "file", p, "err", err)
			continue
		}
		return c, p, nil
	}
	return nil, "", nil
}

// pruneCheckpoints removes all but the newest keep checkpoints.
func pruneCheckpoints(runDir string, keep int, log *slog.Logger) {
	files, err := listCheckpoints(runDir)
	if err != nil {
		return
	}
	for i := keep; i < len(files); i++ {
		if err := os.Remove(files[i]); err != nil {
			meter.Logger(log).Warn("cannot remove old checkpoint", "file", files[i], "err", err)
		}
	}
}
