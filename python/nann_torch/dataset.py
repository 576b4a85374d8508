"""Reader of a dataset prepared by `nann prepare`, as it lies on disk.

The binary files are memory-mapped with numpy.memmap; nothing is converted
or copied. Layout (dataset/format.go), all little-endian:

    offset  size  field
    0       8     magic: b"NANNSEQ1" (sequences.bin) or b"NANNSMP1" (*.samples)
    8       4     format version (uint32, 1)
    12      4     header size (uint32, 64)
    16      8     count A (uint64): users (sequences) or records (samples)
    24      8     count B (uint64): events (sequences) or 0 (samples)
    32      4     CRC-32C of the payload (all bytes after the header)
    36      4     CRC-32C of header bytes 0..35
    40      24    reserved
    64      ...   payload

sequences.bin payload: uint64 offsets[users+1], int32 items[events],
int32 cates[events]. *.samples payload: records (uint32 user_row,
uint32 position); the target is event `position` of that user, the history
the up to max_length events before it, right-padded with 0.
Tables: item_cate.npy (int32), item_weight.npy (float64), item_count.npy
(int64), each [num_item+1]; item_raw_ids.npy, cate_raw_ids.npy,
user_raw_ids.npy (int64). meta.json holds the counts.
"""

import json
import os
import struct

import numpy as np

from .crc32c import crc32c

HEADER_SIZE = 64
FORMAT_VERSION = 1
MAGIC_SEQUENCES = b"NANNSEQ1"
MAGIC_SAMPLES = b"NANNSMP1"
MAX_COUNT = 1 << 40

SAMPLE_DTYPE = np.dtype([("user", "<u4"), ("pos", "<u4")])


class DatasetError(ValueError):
    """A prepared dataset that cannot be read; the message names the file."""


def read_header(path, want_magic):
    """Parse and check the 64-byte header of a nann binary file.

    Returns (count_a, count_b, payload_crc)."""
    with open(path, "rb") as f:
        b = f.read(HEADER_SIZE)
    if len(b) < HEADER_SIZE:
        raise DatasetError(f"{path}: file is {len(b)} bytes, shorter than the {HEADER_SIZE}-byte header")
    if b[:8] != want_magic:
        raise DatasetError(f"{path}: bad magic {b[:8]!r}, want {want_magic!r}")
    stored = struct.unpack_from("<I", b, 36)[0]
    got = crc32c(b[:36])
    if got != stored:
        raise DatasetError(f"{path}: header checksum mismatch (file {stored:08x}, computed {got:08x})")
    version, hsize, a, c, pcrc = struct.unpack_from("<IIQQI", b, 8)
    if version != FORMAT_VERSION:
        raise DatasetError(f"{path}: format version {version}, this reader reads version {FORMAT_VERSION}")
    if hsize != HEADER_SIZE:
        raise DatasetError(f"{path}: header size {hsize}, want {HEADER_SIZE}")
    if a > MAX_COUNT or c > MAX_COUNT:
        raise DatasetError(f"{path}: implausible counts {a}, {c}")
    return a, c, pcrc


def _map_payload(path, want_magic, payload_size, verify):
    a, c, pcrc = read_header(path, want_magic)
    want = payload_size(a, c)
    size = os.path.getsize(path) - HEADER_SIZE
    if size != want:
        raise DatasetError(f"{path}: payload is {size} bytes, the header's counts need {want} (truncated or padded file)")
    payload = np.memmap(path, dtype=np.uint8, mode="r", offset=HEADER_SIZE, shape=(size,)) if size else np.zeros(0, np.uint8)
    if verify:
        got = crc32c(payload)
        if got != pcrc:
            raise DatasetError(f"{path}: payload checksum mismatch (file {pcrc:08x}, computed {got:08x})")
    return a, c, payload


def open_sequences(path, verify=True):
    """Map sequences.bin: returns (offsets uint64[users+1], items int32[events], cates int32[events])."""
    users, events, p = _map_payload(path, MAGIC_SEQUENCES, lambda a, c: (a + 1) * 8 + c * 8, verify)
    o = (users + 1) * 8
    offsets = p[:o].view("<u8")
    items = p[o:o + events * 4].view("<i4")
    cates = p[o + events * 4:].view("<i4")
    return offsets, items, cates


def open_samples(path, verify=True):
    """Map a *.samples file: a structured array of (user, pos) uint32 records."""
    n, _, p = _map_payload(path, MAGIC_SAMPLES, lambda a, c: a * 8, verify)
    return p.view(SAMPLE_DTYPE) if n else np.zeros(0, SAMPLE_DTYPE)


class Dataset:
    """An opened prepared dataset directory.

    Attributes: dir, meta (dict of meta.json), offsets, items, cates
    (sequences.bin, memory-mapped), train, test, valid (sample records),
    item_cate, item_weight, item_count, item_raw_ids, cate_raw_ids,
    user_raw_ids (the .npy tables), num_item, num_cate, max_length.
    """

    def __init__(self, path, verify=True):
        self.dir = path
        mp = os.path.join(path, "meta.json")
        try:
            with open(mp) as f:
                self.meta = json.load(f)
        except FileNotFoundError as e:
            raise DatasetError(f"{mp}: {e.strerror} (not a prepared dataset, or preparation did not finish)") from None
        except json.JSONDecodeError as e:
            raise DatasetError(f"{mp}: {e}") from None
        if self.meta.get("format") != "nann-dataset" or self.meta.get("version") != 1:
            raise DatasetError(f"{mp}: format {self.meta.get('format')!r} version {self.meta.get('version')}, want 'nann-dataset' version 1")
        m = self.meta
        self.num_item, self.num_cate, self.max_length = int(m["num_item"]), int(m["num_cate"]), int(m["max_length"])
        sp = os.path.join(path, "sequences.bin")
        self.offsets, self.items, self.cates = open_sequences(sp, verify)
        users, events = self.offsets.shape[0] - 1, self.items.shape[0]
        if users != m["num_user"]:
            raise DatasetError(f"{sp}: {users} users, meta.json says {m['num_user']}")
        d = np.diff(self.offsets.astype(np.int64))
        if self.offsets[0] != 0 or (d < 0).any() or int(self.offsets[-1]) != events:
            raise DatasetError(f"{sp}: offsets are not a non-decreasing run from 0 to {events} events")
        for name, arr, hi in (("items", self.items, self.num_item), ("cates", self.cates, self.num_cate)):
            if events and (int(arr.min()) < 1 or int(arr.max()) > hi):
                i = int(np.flatnonzero((arr < 1) | (arr > hi))[0])
                raise DatasetError(f"{sp}: event {i} has {name[:-1]} {int(arr[i])} outside 1..{hi}")
        ni, nc = self.num_item + 1, self.num_cate + 1
        for attr, fname, dt, want in (("item_cate", "item_cate.npy", np.int32, ni),
                                      ("item_weight", "item_weight.npy", np.float64, ni),
                                      ("item_count", "item_count.npy", np.int64, ni),
                                      ("item_raw_ids", "item_raw_ids.npy", np.int64, ni),
                                      ("cate_raw_ids", "cate_raw_ids.npy", np.int64, nc),
                                      ("user_raw_ids", "user_raw_ids.npy", np.int64, users)):
            fp = os.path.join(path, fname)
            try:
                a = np.load(fp, mmap_mode="r")
            except (OSError, ValueError) as e:
                raise DatasetError(f"{fp}: {e}") from None
            if a.dtype != dt or a.shape != (want,):
                raise DatasetError(f"{fp}: {a.dtype}{list(a.shape)}, want {np.dtype(dt)}[{want}]")
            setattr(self, attr, a)
        ic = np.asarray(self.item_cate)
        if (ic < 0).any() or (ic > self.num_cate).any() or (ic[1:] == 0).any():
            i = int(np.flatnonzero((ic < 0) | (ic > self.num_cate) | ((ic == 0) & (np.arange(ni) > 0)))[0])
            raise DatasetError(f"{os.path.join(path, 'item_cate.npy')}: item {i} has category {int(ic[i])} outside 1..{self.num_cate}")
        lens = d
        for split in ("train", "test", "valid"):
            fp = os.path.join(path, split + ".samples")
            s = open_samples(fp, verify)
            want = m[f"num_{split}_samples"]
            if s.shape[0] != want:
                raise DatasetError(f"{fp}: {s.shape[0]} records, meta.json says {want}")
            if s.shape[0]:
                u, p = s["user"], s["pos"]
                bad = (u >= users)
                bad |= ~bad & (p >= lens[np.minimum(u, users - 1)])
                if bad.any():
                    i = int(np.flatnonzero(bad)[0])
                    raise DatasetError(f"{fp}: record {i} (user row {int(u[i])}, position {int(p[i])}) is outside the sequences")
            setattr(self, split, s)

    def histories(self, samples, length=None):
        """Histories of sample records: (items, cates), int64 [n, length],
        the up to `length` (max_length) events before each target,
        chronological, right-padded with 0; and the number of real events."""
        L = length or self.max_length
        u = samples["user"].astype(np.int64)
        p = samples["pos"].astype(np.int64)
        lo = np.maximum(0, p - L)
        n = p - lo
        idx = (self.offsets[u].astype(np.int64) + lo)[:, None] + np.arange(L)[None, :]
        mask = np.arange(L)[None, :] < n[:, None]
        idx = np.where(mask, idx, 0)
        items = np.where(mask, self.items[idx.reshape(-1)].reshape(idx.shape), 0).astype(np.int64)
        cates = np.where(mask, self.cates[idx.reshape(-1)].reshape(idx.shape), 0).astype(np.int64)
        return items, cates, n

    def targets(self, samples):
        """Target item and category of sample records (int64 [n] each)."""
        e = self.offsets[samples["user"].astype(np.int64)].astype(np.int64) + samples["pos"].astype(np.int64)
        return self.items[e].astype(np.int64), self.cates[e].astype(np.int64)

    def user_sequence(self, u):
        a, b = int(self.offsets[u]), int(self.offsets[u + 1])
        return self.items[a:b], self.cates[a:b]
