#!/usr/bin/python3
"""users_npz.py DATASET OUT.npz [N] [SEQ_LEN]

Writes the first N (default 300) test users of a prepared nann dataset as
named inputs for an imported model with history-id inputs (nann export
--onnx-inputs ids): hist_items and hist_cates, int64 [N, SEQ_LEN] (default
50), dense ids, oldest first, right-padded with 0 -- what Dataset.Fill
gives nann's own scorer. `nann bench --inputs npz:OUT.npz`, `nann eval
--queries OUT.npz` and `nann score --users OUT.npz` read it.

Only NumPy; the layout is dataset/format.go's (64-byte header, then the
payload; the CRCs are not checked here, nann checks them on open).
"""
import sys

import numpy as np


def payload(path, magic, size):
    """The payload of a nann binary file, checked against its header's
    counts: size(count_a, count_b) is the payload's length in bytes."""
    b = np.fromfile(path, dtype=np.uint8)
    if len(b) < 64 or bytes(b[:8]) != magic:
        sys.exit(f"{path}: not a nann file (magic {bytes(b[:8])!r}, want {magic!r})")
    count_a = int(b[16:24].view(np.uint64)[0])
    count_b = int(b[24:32].view(np.uint64)[0])
    if len(b) - 64 != size(count_a, count_b):
        sys.exit(f"{path}: payload is {len(b) - 64} bytes, the header's counts need "
                 f"{size(count_a, count_b)} (truncated or padded file)")
    return b[64:], count_a, count_b


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    ds, out = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    seq_len = int(sys.argv[4]) if len(sys.argv) > 4 else 50
    p, users, events = payload(f"{ds}/sequences.bin", b"NANNSEQ1", lambda u, e: 8 * (u + 1) + 8 * e)
    offsets = p[: 8 * (users + 1)].view(np.uint64)
    items = p[8 * (users + 1): 8 * (users + 1) + 4 * events].view(np.int32)
    cates = p[8 * (users + 1) + 4 * events: 8 * (users + 1) + 8 * events].view(np.int32)
    s, records, _ = payload(f"{ds}/test.samples", b"NANNSMP1", lambda r, _: 8 * r)
    rec = s[: 8 * records].view(np.uint32).reshape(records, 2)
    n = min(n, records)
    hi = np.zeros((n, seq_len), dtype=np.int64)
    hc = np.zeros((n, seq_len), dtype=np.int64)
    for i, (user, pos) in enumerate(rec[:n]):
        a = int(offsets[user])
        lo = max(0, int(pos) - seq_len)
        k = int(pos) - lo
        hi[i, :k] = items[a + lo: a + int(pos)]
        hc[i, :k] = cates[a + lo: a + int(pos)]
    np.savez(out, hist_items=hi, hist_cates=hc)
    print(f"{out}: {n} test users, hist_items/hist_cates int64 [{n}, {seq_len}]")


if __name__ == "__main__":
    main()
