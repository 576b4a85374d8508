package dataset

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"path/filepath"

	"google.golang.org/protobuf/encoding/protowire"

	"nann/internal/safefile"
)

// TFRecord export: the samples as tf.train.Example records with the
// reference's feature names, so TensorFlow input pipelines can read what
// nann prepares:
//
//	item_ids    int64 [MaxLength]  history item ids, right-padded with 0
//	cate_ids    int64 [MaxLength]  history category ids, likewise
//	gt_item_id  int64 [1]          target item
//	gt_cate_id  int64 [1]          target category
//	weight_tag  float [1]          the target's weight_tag
//
// and items.tfrecord with one Example per item: item_id, cate_id,
// weight_tag. Ids are the dense ids of the prepared dataset. Records are
// framed as TFRecord files are: uint64 length, masked CRC-32C of the length,
// data, masked CRC-32C of the data.

// WriteTFRecords writes train/test/valid/items .tfrecord files into dir.
func (d *Dataset) WriteTFRecords(ctx context.Context, dir string) error {
	sets := []struct {
		name    string
		samples []Sample
	}{{"train", d.Train}, {"test", d.Test}, {"valid", d.Valid}}
	for _, s := range sets {
		path := filepath.Join(dir, s.name+".tfrecord")
		if err := safefile.Write(path, func(w io.Writer) error { return d.writeSampleRecords(ctx, w, s.samples) }); err != nil {
			return err
		}
	}
	return safefile.Write(filepath.Join(dir, "items.tfrecord"), func(w io.Writer) error {
		var buf []byte
		for it := 1; it <= d.Meta.NumItems; it++ {
			buf = appendExample(buf[:0], []feature{
				{name: "item_id", ints: []int64{int64(it)}},
				{name: "cate_id", ints: []int64{int64(d.ItemCate[it])}},
				{name: "weight_tag", floats: []float32{float32(d.ItemWeight[it])}},
			})
			if err := writeRecord(w, buf); err != nil {
				return err
			}
		}
		return nil
	})
}

func (d *Dataset) writeSampleRecords(ctx context.Context, w io.Writer, samples []Sample) error {
	L := d.Meta.SeqLen
	hi, hc := make([]int32, L), make([]int32, L)
	items, cates := make([]int64, L), make([]int64, L)
	var buf []byte
	for i, s := range samples {
		if i%65536 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		d.Fill(s, hi, hc)
		for j := range hi {
			items[j], cates[j] = int64(hi[j]), int64(hc[j])
		}
		ti, tc := d.Target(s)
		buf = appendExample(buf[:0], []feature{
			{name: "item_ids", ints: items},
			{name: "cate_ids", ints: cates},
			{name: "gt_item_id", ints: []int64{int64(ti)}},
			{name: "gt_cate_id", ints: []int64{int64(tc)}},
			{name: "weight_tag", floats: []float32{float32(d.ItemWeight[ti])}},
		})
		if err := writeRecord(w, buf); err != nil {
			return err
		}
	}
	return nil
}

// feature is one named int64 or float list.
type feature struct {
	name   string
	ints   []int64
	floats []float32
}

// appendExample encodes tf.train.Example{features: Features{feature: map}}.
// Field numbers: Example.features = 1; Features.feature = 1 (map entries:
// key = 1, value = 2); Feature.float_list = 2, Feature.int64_list = 3;
// Int64List.value = 1 and FloatList.value = 1, packed.
func appendExample(b []byte, fs []feature) []byte {
	var features []byte
	for _, f := range fs {
		var list []byte
		var kind protowire.Number
		if f.floats != nil {
			kind = 2
			var packed []byte
			for _, v := range f.floats {
				packed = protowire.AppendFixed32(packed, math.Float32bits(v))
			}
			list = protowire.AppendTag(list, 1, protowire.BytesType)
			list = protowire.AppendBytes(list, packed)
		} else {
			kind = 3
			var packed []byte
			for _, v := range f.ints {
				packed = protowire.AppendVarint(packed, uint64(v))
			}
			list = protowire.AppendTag(list, 1, protowire.BytesType)
			list = protowire.AppendBytes(list, packed)
		}
		var feat []byte
		feat = protowire.AppendTag(feat, kind, protowire.BytesType)
		feat = protowire.AppendBytes(feat, list)
		var entry []byte
		entry = protowire.AppendTag(entry, 1, protowire.BytesType)
		entry = protowire.AppendString(entry, f.name)
		entry = protowire.AppendTag(entry, 2, protowire.BytesType)
		entry = protowire.AppendBytes(entry, feat)
		features = protowire.AppendTag(features, 1, protowire.BytesType)
		features = protowire.AppendBytes(features, entry)
	}
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	return protowire.AppendBytes(b, features)
}

// maskedCRC is TFRecord's masked CRC-32C.
func maskedCRC(b []byte) uint32 {
	c := crc32.Checksum(b, castagnoli)
	return ((c >> 15) | (c << 17)) + 0xa282ead8
}

func writeRecord(w io.Writer, data []byte) error {
	var hdr [12]byte
	binary.LittleEndian.PutUint64(hdr[:8], uint64(len(data)))
	binary.LittleEndian.PutUint32(hdr[8:], maskedCRC(hdr[:8]))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	var tail [4]byte
	binary.LittleEndian.PutUint32(tail[:], maskedCRC(data))
	_, err := w.Write(tail[:])
	return err
}

// ReadRecords splits a TFRecord stream into its records, checking both
// CRCs of each; it is used by tests and by tools that read our files back.
func ReadRecords(b []byte) ([][]byte, error) {
	var out [][]byte
	for off := 0; off < len(b); {
		if len(b)-off < 12 {
			return nil, fmt.Errorf("record at byte %d: truncated header", off)
		}
		n := binary.LittleEndian.Uint64(b[off:])
		if binary.LittleEndian.Uint32(b[off+8:]) != maskedCRC(b[off:off+8]) {
			return nil, fmt.Errorf("record at byte %d: length checksum mismatch", off)
		}
		if n > uint64(len(b)-off-16) {
			return nil, fmt.Errorf("record at byte %d: length %d exceeds the file", off, n)
		}
		data := b[off+12 : off+12+int(n)]
		if binary.LittleEndian.Uint32(b[off+12+int(n):]) != maskedCRC(data) {
			return nil, fmt.Errorf("record at byte %d: data checksum mismatch", off)
		}
		out = append(out, data)
		off += 16 + int(n)
	}
	return out, nil
}
