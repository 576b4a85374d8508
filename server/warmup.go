package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"nann/serving"
	"nann/tfserving/servingpb"
)

// WarmupFile is where a version directory may hold recorded warm-up
// requests, as in TF Serving: a TFRecord file of
// tensorflow.serving.PredictionLog records carrying predict_log requests.
const WarmupFile = "assets.extra/tf_serving_warmup_requests"

// maxWarmupRecords bounds the recorded warm-up requests (TF Serving's bound).
const maxWarmupRecords = 1000

// warmup runs warm-up requests on a loaded version before it is published:
// the recorded ones in WarmupFile if the version has them (each must
// succeed, or the load fails, as in TF Serving), else Config.WarmupRequests
// synthetic ones built from the signature. Synthetic requests only warm
// caches: one that fails ends the warm-up with a warning, and the version
// is published all the same.
func (s *Server) warmup(ctx context.Context, model string, v *version) error {
	start := time.Now()
	reqs, recorded, err := s.warmupRequests(v)
	if err != nil {
		return err
	}
	if len(reqs) == 0 {
		return nil
	}
	label := []string{model, strconv.FormatInt(v.num, 10)}
	ran := 0
	for i, r := range reqs {
		if err := ctx.Err(); err != nil {
			return err
		}
		resp, err := s.callServable(ctx, v.servable, r)
		if err == nil {
			_, err = checkResponse(r, resp)
		}
		if err != nil {
			if !recorded {
				s.log.Warn("synthetic warm-up request failed; warm-up ends early", "model", model, "version", v.num, "request", i+1, "batch", r.Batch, "err", err)
				break
			}
			kind := "synthetic"
			if recorded {
				kind = "recorded (" + WarmupFile + ")"
			}
			return fmt.Errorf("%s warm-up request %d of %d: %w", kind, i+1, len(reqs), err)
		}
		ran++
		s.met.warmupRequests.WithLabelValues(label...).Inc()
	}
	took := time.Since(start)
	s.met.warmupSeconds.WithLabelValues(label...).Set(took.Seconds())
	s.log.Info("model version warmed up", "model", model, "version", v.num, "requests", ran, "recorded", recorded, "seconds", took.Seconds())
	return nil
}

// warmupRequests returns the version's recorded warm-up requests, or
// synthetic ones.
func (s *Server) warmupRequests(v *version) (reqs []*serving.Request, recorded bool, err error) {
	path := filepath.Join(v.dir, WarmupFile)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return syntheticRequests(v.sig, s.cfg.WarmupRequests, s.cfg.MaxBatch, v.num), false, nil
	case err != nil:
		return nil, true, fmt.Errorf("warm-up requests: %w", err)
	}
	preds, err := readWarmupRecords(path, b)
	if err != nil {
		return nil, true, err
	}
	for i, p := range preds {
		r, err := s.decodePredictInputs(p, v.sig)
		if err != nil {
			return nil, true, fmt.Errorf("%s: record %d: %w", path, i+1, err)
		}
		reqs = append(reqs, r)
	}
	return reqs, true, nil
}

// syntheticRequests builds n requests from the signature: rows of small
// pseudo-random values for float inputs (comm_seq or named ones), padding
// (0) for integer inputs, and the signature's default level_topn; batch
// sizes cycle through 1, 2, 4, 8 (at most maxBatch) so that buffers of several sizes are
// touched. The values are a function of the version only.
func syntheticRequests(sig serving.Signature, n, maxBatch int, seed int64) []*serving.Request {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	sizes := []int{1, 2, 4, 8}
	out := make([]*serving.Request, 0, n)
	for i := range n {
		batch := min(sizes[i%len(sizes)], maxBatch)
		r := &serving.Request{Batch: batch, LevelTopN: sig.DefaultLevelTopN}
		if len(sig.Inputs) == 0 {
			r.CommSeq = make([]float32, batch*sig.CommSeqLen)
			for j := range r.CommSeq {
				r.CommSeq[j] = float32(rng.NormFloat64() * 0.1)
			}
		} else {
			r.Inputs = make(map[string]*serving.Tensor, len(sig.Inputs))
			for _, in := range sig.Inputs {
				shape := []int64{int64(batch)}
				size := int64(batch)
				for _, d := range in.Shape[1:] {
					d = max(d, 1) // a free dimension gets size 1
					shape = append(shape, d)
					size *= d
				}
				t := &serving.Tensor{Shape: shape}
				if in.DType.IsFloat() {
					t.Floats = make([]float32, size)
					for j := range t.Floats {
						t.Floats[j] = float32(rng.NormFloat64() * 0.1)
					}
				} else {
					t.Ints = make([]int64, size)
				}
				r.Inputs[in.Name] = t
			}
		}
		out = append(out, r)
	}
	return out
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maskedCRC is TFRecord's checksum: a rotated and offset CRC-32C.
func maskedCRC(b []byte) uint32 {
	c := crc32.Checksum(b, castagnoli)
	return (c>>15 | c<<17) + 0xa282ead8
}

// readWarmupRecords reads a TFRecord file of PredictionLog records and
// returns their predict_log requests. Each record is framed as
//
//	uint64 length, uint32 masked CRC-32C of length, data, uint32 masked CRC-32C of data
//
// (little-endian). Only the fields needed are decoded: PredictionLog's
// predict_log (6) and PredictLog's request (1), a PredictRequest.
func readWarmupRecords(path string, b []byte) ([]*servingpb.PredictRequest, error) {
	var out []*servingpb.PredictRequest
	for off, rec := 0, 1; off < len(b); rec++ {
		if rec > maxWarmupRecords {
			return nil, fmt.Errorf("%s: more than %d warm-up records", path, maxWarmupRecords)
		}
		if len(b)-off < 12 {
			return nil, fmt.Errorf("%s: record %d at byte %d: truncated header", path, rec, off)
		}
		n := binary.LittleEndian.Uint64(b[off:])
		if maskedCRC(b[off:off+8]) != binary.LittleEndian.Uint32(b[off+8:]) {
			return nil, fmt.Errorf("%s: record %d at byte %d: length checksum mismatch (not a TFRecord file?)", path, rec, off)
		}
		off += 12
		if n > uint64(len(b)-off) || uint64(len(b)-off)-n < 4 {
			return nil, fmt.Errorf("%s: record %d: length %d runs past the end of the file", path, rec, n)
		}
		data := b[off : off+int(n)]
		off += int(n)
		if maskedCRC(data) != binary.LittleEndian.Uint32(b[off:]) {
			return nil, fmt.Errorf("%s: record %d: data checksum mismatch", path, rec)
		}
		off += 4
		req, err := predictLogRequest(data)
		if err != nil {
			return nil, fmt.Errorf("%s: record %d: %w", path, rec, err)
		}
		out = append(out, req)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no warm-up records", path)
	}
	return out, nil
}

// predictLogRequest extracts PredictionLog.predict_log.request.
func predictLogRequest(b []byte) (*servingpb.PredictRequest, error) {
	logType := protowire.Number(0)
	var predictLog []byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("PredictionLog: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if num >= 2 && num <= 7 {
			logType = num
		}
		if num == 6 && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, fmt.Errorf("PredictionLog.predict_log: %w", protowire.ParseError(n))
			}
			predictLog = v
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return nil, fmt.Errorf("PredictionLog field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	if logType != 6 {
		names := map[protowire.Number]string{0: "no log", 2: "classify_log", 3: "regress_log", 4: "multi_inference_log", 5: "session_run_log", 7: "predict_streamed_log"}
		return nil, fmt.Errorf("PredictionLog holds %s; only predict_log warm-up records are supported", names[logType])
	}
	var reqBytes []byte
	for b := predictLog; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("PredictLog: %w", protowire.ParseError(n))
		}
		b = b[n:]
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return nil, fmt.Errorf("PredictLog field %d: %w", num, protowire.ParseError(n))
		}
		if num == 1 && typ == protowire.BytesType {
			reqBytes, _ = protowire.ConsumeBytes(b)
		}
		b = b[n:]
	}
	req := &servingpb.PredictRequest{}
	if err := proto.Unmarshal(reqBytes, req); err != nil {
		return nil, fmt.Errorf("PredictLog.request: %w", err)
	}
	return req, nil
}
