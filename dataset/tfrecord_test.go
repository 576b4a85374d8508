package dataset

import (
	"context"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func TestCRC32CCheckValue(t *testing.T) {
	// The standard check value of CRC-32C (Castagnoli) for "123456789".
	if got := crc32.Checksum([]byte("123456789"), castagnoli); got != 0xe3069283 {
		t.Fatalf("crc32c = %08x", got)
	}
}

// decodeExample is an independent decoder of tf.train.Example into
// name → ints / floats, walking the wire format field by field.
func decodeExample(t *testing.T, b []byte) (map[string][]int64, map[string][]float32) {
	ints, floats := map[string][]int64{}, map[string][]float32{}
	field := func(b []byte, want protowire.Number) [][]byte {
		var out [][]byte
		for len(b) > 0 {
			num, typ, n := protowire.ConsumeTag(b)
			if n < 0 || typ != protowire.BytesType {
				t.Fatalf("bad tag")
			}
			b = b[n:]
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				t.Fatal("bad bytes")
			}
			b = b[n:]
			if num == want {
				out = append(out, v)
			}
		}
		return out
	}
	features := field(b, 1)[0]
	for _, entry := range field(features, 1) {
		name := string(field(entry, 1)[0])
		feat := field(entry, 2)[0]
		if l := field(feat, 3); len(l) == 1 {
			p := field(l[0], 1)[0]
			for len(p) > 0 {
				v, n := protowire.ConsumeVarint(p)
				ints[name] = append(ints[name], int64(v))
				p = p[n:]
			}
		}
		if l := field(feat, 2); len(l) == 1 {
			p := field(l[0], 1)[0]
			for len(p) > 0 {
				v, n := protowire.ConsumeFixed32(p)
				floats[name] = append(floats[name], math.Float32frombits(v))
				p = p[n:]
			}
		}
	}
	return ints, floats
}

func TestTFRecords(t *testing.T) {
	path := sharedFile(t, "userbehavior_histories_4k.csv")
	d := prepareTo(t, path, DefaultOptions())
	dir := t.TempDir()
	if err := d.WriteTFRecords(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "train.tfrecord"))
	recs, err := ReadRecords(b)
	if err != nil || len(recs) != len(d.Train) {
		t.Fatalf("%d records, %d samples, %v", len(recs), len(d.Train), err)
	}
	hi, hc := make([]int32, 50), make([]int32, 50)
	for i, r := range recs {
		ints, floats := decodeExample(t, r)
		d.Fill(d.Train[i], hi, hc)
		ti, tc := d.Target(d.Train[i])
		if len(ints["item_ids"]) != 50 || ints["item_ids"][49] != int64(hi[49]) || ints["cate_ids"][0] != int64(hc[0]) ||
			ints["gt_item_id"][0] != int64(ti) || ints["gt_cate_id"][0] != int64(tc) || floats["weight_tag"][0] != float32(d.ItemWeight[ti]) {
			t.Fatalf("record %d: %v %v", i, ints, floats)
		}
	}
	b, _ = os.ReadFile(filepath.Join(dir, "items.tfrecord"))
	if recs, err := ReadRecords(b); err != nil || len(recs) != d.Meta.NumItems {
		t.Fatalf("items: %d %v", len(recs), err)
	}
	b[20] ^= 1
	if _, err := ReadRecords(b); err == nil {
		t.Fatal("corrupt record accepted")
	}
}
