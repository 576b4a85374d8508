"""CRC-32C (Castagnoli), as Go's hash/crc32 with crc32.Castagnoli computes it,
vectorised with NumPy.

The data is cut into K equal chunks of L bytes (plus a short head); the raw
CRC (initial value 0, no final xor) of every chunk is computed at once, four
bytes per step with slicing-by-4 tables, vectorised over the chunks; the chunk
CRCs are then combined with a tree of GF(2) "append n zero bytes" operators.
The raw CRC is linear, so raw(A || B) = shift_|B|(raw(A)) xor raw(B), and the
standard CRC with initial value and final xor 0xFFFFFFFF is
raw(M) xor shift_|M|(0xFFFFFFFF) xor 0xFFFFFFFF.
"""

import numpy as np

POLY = 0x82F63B78  # reflected Castagnoli polynomial


def _tables():
    t0 = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ POLY if c & 1 else c >> 1
        t0[i] = c
    ts = [t0]
    for _ in range(3):
        prev = ts[-1]
        ts.append((prev >> np.uint32(8)) ^ t0[prev & np.uint32(0xFF)])
    return ts


_T0, _T1, _T2, _T3 = _tables()
_M8 = np.uint32(0xFF)


def crc32c_reference(data, crc=0):
    """Bit-at-a-time CRC-32C (the obviously right, slow version; for tests)."""
    crc ^= 0xFFFFFFFF
    for b in bytes(data):
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ POLY if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def _raw_bytes(crc, cols):
    """Raw CRC update of crc (uint32 array, one per chunk) with bytes cols
    (uint8 array, chunks × n), a byte at a time."""
    for j in range(cols.shape[1]):
        crc = _T0[(crc ^ cols[:, j]) & _M8] ^ (crc >> np.uint32(8))
    return crc


def _raw_words(crc, words):
    """Raw CRC update with little-endian uint32 words (chunks × n), slicing-by-4."""
    for j in range(words.shape[1]):
        c = crc ^ words[:, j]
        crc = (_T3[c & _M8] ^ _T2[(c >> np.uint32(8)) & _M8]
               ^ _T1[(c >> np.uint32(16)) & _M8] ^ _T0[c >> np.uint32(24)])
    return crc


# A GF(2) operator on CRC states is a 32-element uint32 array: column k is the
# image of bit k.

def _apply(op, x):
    x = np.asarray(x, dtype=np.uint32)
    out = np.zeros_like(x)
    for k in range(32):
        out ^= np.where((x >> np.uint32(k)) & np.uint32(1), op[k], np.uint32(0))
    return out


def _compose(a, b):
    """The operator a after b."""
    return _apply(a, b)


def _zero_byte_op():
    basis = np.uint32(1) << np.arange(32, dtype=np.uint32)
    return _T0[basis & _M8] ^ (basis >> np.uint32(8))


_OP1 = _zero_byte_op()
_POW2 = [_OP1]  # _POW2[i] appends 2**i zero bytes
for _ in range(63):
    _POW2.append(_compose(_POW2[-1], _POW2[-1]))


def _shift_op(n):
    """Operator appending n zero bytes."""
    op = np.uint32(1) << np.arange(32, dtype=np.uint32)  # identity
    i = 0
    while n:
        if n & 1:
            op = _compose(_POW2[i], op)
        n >>= 1
        i += 1
    return op


def _raw(buf):
    """Raw CRC (init 0, no final xor) of a 1-D uint8 array."""
    n = buf.shape[0]
    if n == 0:
        return np.uint32(0)
    # chunk length: a multiple of 4 near sqrt(n), between 64 and 4096
    L = int(min(4096, max(64, (int(n ** 0.5) + 3) // 4 * 4)))
    K = n // L
    head = n - K * L
    raw_head = _raw_bytes(np.zeros(1, dtype=np.uint32), buf[:head].reshape(1, head))[0] if head else np.uint32(0)
    if K == 0:
        return raw_head
    body = buf[head:]
    crcs = np.empty(K, dtype=np.uint32)
    rows = max(1, (32 << 20) // L)  # rows per block: about 32 MB at a time
    for r0 in range(0, K, rows):
        r1 = min(K, r0 + rows)
        block = np.ascontiguousarray(body[r0 * L:r1 * L]).reshape(r1 - r0, L)
        crcs[r0:r1] = _raw_words(np.zeros(r1 - r0, dtype=np.uint32), block.view("<u4"))
    # tree combine: prepend zero chunks (raw CRC 0, no effect) to a power of two
    size = 1
    while size < K:
        size *= 2
    c = np.concatenate([np.zeros(size - K, dtype=np.uint32), crcs])
    length = L
    while c.shape[0] > 1:
        op = _shift_op(length)
        c = _apply(op, c[0::2]) ^ c[1::2]
        length *= 2
    raw_body = c[0]
    return np.uint32(_apply(_shift_op(K * L), np.array([raw_head]))[0] ^ raw_body)


def crc32c(data):
    """CRC-32C of data (bytes, bytearray, memoryview or a NumPy array, e.g. a
    numpy.memmap, read as its raw bytes) as a Python int."""
    if isinstance(data, np.ndarray):
        buf = np.ascontiguousarray(data).reshape(-1).view(np.uint8) if not data.flags.c_contiguous else data.reshape(-1).view(np.uint8)
    else:
        buf = np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)
    n = buf.shape[0]
    init = _apply(_shift_op(n), np.array([0xFFFFFFFF], dtype=np.uint32))[0]
    return int(_raw(buf) ^ init ^ np.uint32(0xFFFFFFFF))
