"""nann's checkpoint format (train/checkpoint.go), read and written.

    offset  size  field
    0       8     magic "NANNCKPT"
    8       4     format version (uint32, 1)
    12      4     meta length J (uint32)
    16      8     payload length P in bytes (uint64)
    24      J     meta JSON (position, replicas, rng, tensor directory),
                  space-padded so that the payload starts at a multiple of 8
    24+J    P     payload: float32 tensors, concatenated, little-endian
    24+J+P  32    SHA-256 of every byte before it

Tensors are (kind, name): kind "param" (trainable), "state" (BatchNorm moving
averages), "adam_m" / "adam_v" (Adam moments of the param of that name).

Weight naming: nann name = PyTorch name with "." replaced by "/", and both
store a Dense kernel In×Out (no transpose):

    nann (checkpoint)                         PyTorch (NANN module)
    param emb/item          [num_item+1, 32]  emb.item
    param emb/cate          [num_cate+1, 32]  emb.cate
    param item_net/dense{i}/kernel, /bias     item_net.dense{i}.kernel, .bias   (i = 0, 1, 2)
    param item_net/bn{i}/gamma, /beta         item_net.bn{i}.gamma, .beta       (i = 0, 1)
    param item_net/prelu{i}/alpha             item_net.prelu{i}.alpha
    param attention/query_dense{0,1}/kernel, /bias   attention.query_dense{0,1}.kernel, .bias
    param attention/query_prelu/alpha         attention.query_prelu.alpha
    param attention/key_dense{0,1}/kernel, /bias     attention.key_dense{0,1}.kernel, .bias
    param attention/key_prelu/alpha           attention.key_prelu.alpha
    param score_net/dense{i}/kernel, /bias    score_net.dense{i}.kernel, .bias  (i = 0..2; dense3 has no bias)
    param score_net/bn{i}/gamma, /beta        score_net.bn{i}.gamma, .beta
    param score_net/prelu{i}/alpha            score_net.prelu{i}.alpha
    state {item,score}_net/bn{i}/moving_mean, /moving_variance   buffers of the same name
    adam_m / adam_v <param name>              AdamW.m / AdamW.v of that parameter
"""

import hashlib
import json
import os
import struct
import tempfile

import numpy as np
import torch

MAGIC = b"NANNCKPT"
VERSION = 1
FIXED = 24
MAX_META = 64 << 20


class CheckpointError(ValueError):
    """An unreadable or unfitting checkpoint; the message names the file and tensor."""


def go_name(torch_name):
    return torch_name.replace(".", "/")


def torch_name(go_name_):
    return go_name_.replace("/", ".")


def param_list(model):
    """(go name, tensor) of the trainable parameters in nann's order."""
    return [(go_name(n), p) for n, p in model.named_parameters()]


def state_list(model):
    """(go name, buffer) of the BatchNorm moving averages in nann's order."""
    out = []
    for n, b in model.named_buffers():
        out.append((go_name(n), b))
    return out


class Checkpoint:
    def __init__(self, meta, tensors):
        self.meta = meta          # dict: step, epoch, step_in_epoch, shuffle_seed, samples, replicas, ...
        self.tensors = tensors    # {(kind, name): np.ndarray float32}

    def get(self, kind, name):
        return self.tensors.get((kind, name))


def read(path):
    with open(path, "rb") as f:
        b = f.read()
    try:
        return decode(b)
    except CheckpointError as e:
        raise CheckpointError(f"{path}: {e}") from None


def decode(b):
    if len(b) < FIXED + 32:
        raise CheckpointError(f"{len(b)} bytes, too short for a checkpoint (truncated?)")
    if b[:8] != MAGIC:
        raise CheckpointError(f"bad magic {b[:8]!r}, want {MAGIC!r}")
    body, tail = b[:-32], b[-32:]
    if hashlib.sha256(body).digest() != tail:
        raise CheckpointError("SHA-256 mismatch (truncated or corrupt file)")
    version, mlen, plen = struct.unpack_from("<IIQ", body, 8)
    if version != VERSION:
        raise CheckpointError(f"format version {version}, this reader reads version {VERSION}")
    if mlen > MAX_META or plen % 4 or len(body) != FIXED + mlen + plen:
        raise CheckpointError(f"meta {mlen} + payload {plen} bytes do not match the file's {len(body)}")
    try:
        meta = json.loads(body[FIXED:FIXED + mlen])
    except ValueError as e:
        raise CheckpointError(f"meta: {e}") from None
    payload = np.frombuffer(body, dtype="<f4", offset=FIXED + mlen)
    tensors = {}
    for t in meta.get("tensors") or []:
        shape = [int(d) for d in t["shape"]]
        n = int(np.prod(shape)) if shape else 1
        off, ln = int(t["offset"]), int(t["len"])
        if any(d < 0 for d in shape) or n != ln or off < 0 or off + ln > payload.shape[0]:
            raise CheckpointError(f"tensor {t['kind']} {t['name']}: shape {shape}, {ln} elements at {off}, payload has {payload.shape[0]}")
        tensors[(t["kind"], t["name"])] = payload[off:off + ln].reshape(shape)
    return Checkpoint(meta, tensors)


def write(path, meta, tensors):
    """Write a checkpoint atomically (temp name, fsync, rename).
    tensors: list of (kind, name, array-like float32)."""
    meta = dict(meta)
    entries, parts, off = [], [], 0
    for kind, name, a in tensors:
        a = np.ascontiguousarray(np.asarray(a, dtype="<f4"))
        entries.append({"kind": kind, "name": name, "shape": list(a.shape), "offset": off, "len": int(a.size)})
        parts.append(a.tobytes())
        off += a.size
    meta["tensors"] = entries
    mj = json.dumps(meta, separators=(",", ":")).encode()
    while (FIXED + len(mj)) % 8:
        mj += b" "
    h = hashlib.sha256()
    fixed = MAGIC + struct.pack("<IIQ", VERSION, len(mj), off * 4)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-" + os.path.basename(path) + "-")
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in [fixed, mj] + parts:
                f.write(chunk)
                h.update(chunk)
            f.write(h.digest())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        dfd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_model(model, ckpt, opt=None):
    """Copy params and state (and, with opt, the Adam moments) from ckpt into
    model; every problem is reported at once."""
    errs, used = [], set()

    def take(kind, name, dst):
        a = ckpt.get(kind, name)
        if a is None:
            errs.append(f"tensor {kind} {name!r} is missing")
            return
        if tuple(a.shape) != tuple(dst.shape):
            errs.append(f"tensor {kind} {name!r} has shape {list(a.shape)}, the model wants {list(dst.shape)}")
            return
        used.add((kind, name))
        with torch.no_grad():
            dst.copy_(torch.from_numpy(np.array(a, dtype=np.float32)))

    for name, p in param_list(model):
        take("param", name, p)
        if opt is not None:
            take("adam_m", name, opt.m[name])
            take("adam_v", name, opt.v[name])
    for name, b in state_list(model):
        take("state", name, b)
    kinds = {"param", "state"} | ({"adam_m", "adam_v"} if opt is not None else set())
    extra = sorted(f"{k} {n}" for (k, n) in ckpt.tensors if k in kinds and (k, n) not in used)
    if extra and not errs:
        errs.append(f"checkpoint holds tensors the model does not have: {', '.join(extra[:5])}")
    if errs:
        raise CheckpointError("; ".join(errs))


def check_fits(model, ckpt, with_optimizer=False):
    """Raise CheckpointError unless ckpt holds every tensor of model (and its
    Adam moments) with the model's shapes; reads nothing into the model."""
    errs = []
    kinds = [("param",)] + ([("adam_m",), ("adam_v",)] if with_optimizer else [])
    for name, p in param_list(model):
        for (kind,) in kinds:
            a = ckpt.get(kind, name)
            if a is None:
                errs.append(f"tensor {kind} {name!r} is missing")
            elif tuple(a.shape) != tuple(p.shape):
                errs.append(f"tensor {kind} {name!r} has shape {list(a.shape)}, the model wants {list(p.shape)}")
    for name, b in state_list(model):
        a = ckpt.get("state", name)
        if a is None or tuple(a.shape) != tuple(b.shape):
            errs.append(f"tensor state {name!r} is missing or has another shape")
    if errs:
        raise CheckpointError("; ".join(errs))


def model_tensors(model, opt=None):
    """(kind, name, array) in nann's order: per param, param then moments; then state."""
    out = []
    for name, p in param_list(model):
        out.append(("param", name, p.detach().cpu().numpy()))
        if opt is not None:
            out.append(("adam_m", name, opt.m[name].cpu().numpy()))
            out.append(("adam_v", name, opt.v[name].cpu().numpy()))
    for name, b in state_list(model):
        out.append(("state", name, b.detach().cpu().numpy()))
    return out
