"""The NANN reference model (SPEC §2) in PyTorch, computing what nann's Go
model (model/, nn/) computes.

Parameter names follow nann's checkpoint names with "/" replaced by "."
(see checkpoint.py and README.md for the table): a Dense kernel is stored
In×Out as nann (and TensorFlow) store it, y = x @ kernel + bias.
"""

import math

import numpy as np
import torch
from torch import nn


class Config:
    """Model sizes, the fields of nann's model.Config (config.json "model")."""

    FIELDS = ("num_item", "num_cate", "emb_dim", "max_len", "item_hidden", "item_out",
              "att_hidden", "att_dim", "score_hidden", "bn_momentum", "bn_eps", "mask_padding")

    def __init__(self, num_item, num_cate, emb_dim=32, max_len=50, item_hidden=(64, 64), item_out=64,
                 att_hidden=128, att_dim=256, score_hidden=(128, 64, 32), bn_momentum=0.99, bn_eps=1e-3,
                 mask_padding=False):
        self.num_item, self.num_cate, self.emb_dim, self.max_len = int(num_item), int(num_cate), int(emb_dim), int(max_len)
        self.item_hidden, self.item_out = [int(h) for h in item_hidden], int(item_out)
        self.att_hidden, self.att_dim = int(att_hidden), int(att_dim)
        self.score_hidden = [int(h) for h in score_hidden]
        self.bn_momentum, self.bn_eps, self.mask_padding = float(bn_momentum), float(bn_eps), bool(mask_padding)
        self.validate()

    @property
    def seq_dim(self):
        return 2 * self.emb_dim

    def validate(self):
        errs = []
        for f in ("num_item", "num_cate"):
            if not 1 <= getattr(self, f) <= 1 << 28:
                errs.append(f"{f} {getattr(self, f)} not in [1, {1 << 28}]")
        for f in ("emb_dim", "max_len", "item_out", "att_hidden", "att_dim"):
            if not 1 <= getattr(self, f) <= 1 << 16:
                errs.append(f"{f} {getattr(self, f)} not in [1, 65536]")
        for f in ("item_hidden", "score_hidden"):
            for i, h in enumerate(getattr(self, f)):
                if not 1 <= h <= 1 << 16:
                    errs.append(f"{f}[{i}] {h} not in [1, 65536]")
        if not 0 <= self.bn_momentum < 1:
            errs.append(f"bn_momentum {self.bn_momentum} not in [0, 1)")
        if not self.bn_eps > 0:
            errs.append(f"bn_eps {self.bn_eps} must be positive")
        if errs:
            raise ValueError("model config: " + "; ".join(errs))

    def to_json(self):
        return {f: getattr(self, f) for f in self.FIELDS}

    @classmethod
    def from_json(cls, d):
        missing = [f for f in cls.FIELDS if f not in d and f != "mask_padding"]
        if missing:
            raise ValueError(f"model config: missing fields {missing}")
        return cls(**{f: d[f] for f in cls.FIELDS if f in d})


def _trunc_normal_(t, std, gen):
    # TensorFlow's truncated_normal: redraw beyond two standard deviations.
    with torch.no_grad():
        flat = t.view(-1)
        n, k = flat.numel(), 0
        while k < n:
            v = torch.randn(max(2 * (n - k), 16), generator=gen, dtype=torch.float64)
            v = v[(v >= -2) & (v <= 2)][: n - k]
            flat[k:k + v.numel()] = (v * std).to(flat.dtype)
            k += v.numel()
    return t


class Dense(nn.Module):
    """y = x @ kernel + bias; kernel In×Out."""

    def __init__(self, fan_in, fan_out, bias=True):
        super().__init__()
        self.kernel = nn.Parameter(torch.zeros(fan_in, fan_out))
        self.bias = nn.Parameter(torch.zeros(fan_out)) if bias else None

    def forward(self, x):
        y = x @ self.kernel
        return y + self.bias if self.bias is not None else y


class PReLU(nn.Module):
    """One alpha per channel (init 0.25); subgradient 0 at x = 0 as TF."""

    def __init__(self, c):
        super().__init__()
        self.alpha = nn.Parameter(torch.full((c,), 0.25))

    def forward(self, x):
        return torch.where(x > 0, x, self.alpha * x)


class BatchNorm(nn.Module):
    """BatchNorm as nann and TF compute it: batch mean and biased variance in
    training, moving averages (moving = m·moving + (1−m)·batch, applied by
    the trainer after each step, see apply_moving) in inference."""

    def __init__(self, c, momentum, eps):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(c))
        self.beta = nn.Parameter(torch.zeros(c))
        self.register_buffer("moving_mean", torch.zeros(c))
        self.register_buffer("moving_variance", torch.ones(c))
        self.momentum, self.eps = momentum, eps
        self.last_stats = None  # (mean, var) of the last recorded training call

    def forward(self, x, train=False, record=False):
        if train:
            mean = x.mean(0)
            var = (x - mean).pow(2).mean(0)
            if record:
                self.last_stats = (mean.detach().clone(), var.detach().clone())
            return (x - mean) * torch.rsqrt(var + self.eps) * self.gamma + self.beta
        return (x - self.moving_mean) * torch.rsqrt(self.moving_variance + self.eps) * self.gamma + self.beta

    @torch.no_grad()
    def apply_moving(self, mean, var):
        m = self.momentum
        self.moving_mean.mul_(m).add_((1 - m) * mean)
        self.moving_variance.mul_(m).add_((1 - m) * var)


class MLP(nn.Module):
    """Hidden blocks Dense → BatchNorm → PReLU, then a final Dense;
    children dense<i>, bn<i>, prelu<i> as nann names them."""

    def __init__(self, fan_in, hidden, out, out_bias, momentum, eps):
        super().__init__()
        self.depth = len(hidden)
        for i, h in enumerate(hidden):
            setattr(self, f"dense{i}", Dense(fan_in, h))
            setattr(self, f"bn{i}", BatchNorm(h, momentum, eps))
            setattr(self, f"prelu{i}", PReLU(h))
            fan_in = h
        setattr(self, f"dense{len(hidden)}", Dense(fan_in, out, bias=out_bias))

    def forward(self, x, train=False, record=False):
        for i in range(self.depth):
            x = getattr(self, f"dense{i}")(x)
            x = getattr(self, f"bn{i}")(x, train, record)
            x = getattr(self, f"prelu{i}")(x)
        return getattr(self, f"dense{self.depth}")(x)

    def batchnorms(self):
        return [getattr(self, f"bn{i}") for i in range(self.depth)]


class Attention(nn.Module):
    """Target attention: q = Q2(PReLU(Q1(e))), k_l = K2(PReLU(K1(seq_l))),
    a = softmax_l(q·k_l / sqrt(att_dim)), out = Σ_l a_l·seq_l."""

    def __init__(self, q_in, val_dim, hidden, dim, mask):
        super().__init__()
        self.query_dense0 = Dense(q_in, hidden)
        self.query_prelu = PReLU(hidden)
        self.query_dense1 = Dense(hidden, dim)
        self.key_dense0 = Dense(val_dim, hidden)
        self.key_prelu = PReLU(hidden)
        self.key_dense1 = Dense(hidden, dim)
        self.dim, self.mask = dim, mask

    def keys(self, seq):
        return self.key_dense1(self.key_prelu(self.key_dense0(seq)))

    def queries(self, ev):
        return self.query_dense1(self.query_prelu(self.query_dense0(ev)))

    def forward(self, q, k, seq, valid=None):
        """q [B, C, dim], k [B, L, dim], seq [B, L, V], valid [B, L] bool or
        None → [B, C, V]."""
        s = torch.matmul(q, k.transpose(1, 2)) * (1.0 / math.sqrt(self.dim))
        if self.mask and valid is not None:
            v = valid[:, None, :]
            s = s.masked_fill(~v, float("-inf"))
            a = torch.softmax(s, -1)
            a = torch.where(v.any(-1, keepdim=True), a, torch.zeros_like(a))
        else:
            a = torch.softmax(s, -1)
        return torch.matmul(a, seq)


class NANN(nn.Module):
    """The whole network. Children: emb (item, cate tables), item_net,
    attention, score_net."""

    def __init__(self, cfg, seed=1):
        super().__init__()
        self.cfg = cfg
        self.emb = nn.Module()
        self.emb.item = nn.Parameter(torch.zeros(cfg.num_item + 1, cfg.emb_dim))
        self.emb.cate = nn.Parameter(torch.zeros(cfg.num_cate + 1, cfg.emb_dim))
        self.item_net = MLP(cfg.seq_dim, cfg.item_hidden, cfg.item_out, True, cfg.bn_momentum, cfg.bn_eps)
        self.attention = Attention(cfg.item_out, cfg.seq_dim, cfg.att_hidden, cfg.att_dim, cfg.mask_padding)
        self.score_net = MLP(cfg.seq_dim + cfg.item_out, cfg.score_hidden, 1, False, cfg.bn_momentum, cfg.bn_eps)
        self.reset_parameters(seed)

    def reset_parameters(self, seed):
        """The reference's initialisers (SPEC §2), from a torch generator
        seeded by seed (not the same numbers as nann's Go PCG)."""
        g = torch.Generator().manual_seed(int(seed))
        d = self.cfg.emb_dim
        _trunc_normal_(self.emb.item, 1 / math.sqrt(d), g)
        _trunc_normal_(self.emb.cate, 1 / math.sqrt(d), g)
        with torch.no_grad():
            for net in (self.item_net, self.score_net):
                for i in range(net.depth + 1):
                    dn = getattr(net, f"dense{i}")
                    _trunc_normal_(dn.kernel, math.sqrt(1 / dn.kernel.shape[0]) / 0.87962566103423978, g)
                    if dn.bias is not None:
                        dn.bias.fill_(0.1)
            for name in ("query_dense0", "query_dense1", "key_dense0", "key_dense1"):
                dn = getattr(self.attention, name)
                fi, fo = dn.kernel.shape
                lim = math.sqrt(6 / (fi + fo))
                dn.kernel.copy_((torch.rand(fi, fo, generator=g, dtype=torch.float64) * 2 - 1) * lim)
                dn.bias.zero_()

    def batchnorms(self):
        """BatchNorm layers in nann's state order: item network, then score network."""
        return self.item_net.batchnorms() + self.score_net.batchnorms()

    # --- embeddings -------------------------------------------------------
    def lookup(self, items, cates):
        """concat(item emb, cate emb) of id tensors (any shape); id 0 gives zeros
        and no gradient, as nann's masked row 0."""
        ei = self.emb.item[items] * (items != 0).unsqueeze(-1).to(self.emb.item.dtype)
        ec = self.emb.cate[cates] * (cates != 0).unsqueeze(-1).to(self.emb.cate.dtype)
        return torch.cat([ei, ec], -1)

    def item_embeddings(self, items, cates, train=False, record=False):
        """e_v of items [n] → [n, item_out]."""
        return self.item_net(self.lookup(items, cates), train, record)

    # --- scoring ----------------------------------------------------------
    def score_from(self, ev, k, seq, valid, train=False, record=False):
        """Raw scores of candidate embeddings ev [B, C, item_out] for users with
        keys k [B, L, att_dim] and sequences seq [B, L, seq_dim] → [B, C]."""
        B, C, _ = ev.shape
        q = self.attention.queries(ev)
        att = self.attention(q, k, seq, valid)
        z = torch.cat([att, ev], -1).reshape(B * C, -1)
        return self.score_net(z, train, record).reshape(B, C)

    def score_seq(self, comm_seq, ev):
        """Inference scores of n (user, item) pairs: comm_seq [n, L, seq_dim]
        (a user's behaviour-sequence embedding, zero rows for padding), ev
        [n, item_out] → [n]. This is the ONNX export's graph."""
        k = self.attention.keys(comm_seq)
        valid = comm_seq.ne(0).any(-1) if self.cfg.mask_padding else None
        return self.score_from(ev.unsqueeze(1), k, comm_seq, valid).reshape(-1)

    @torch.no_grad()
    def all_item_embeddings(self, item_cate):
        """Inference e_v of every item 1..num_item (row r is id r+1)."""
        ids = torch.arange(1, self.cfg.num_item + 1)
        cates = torch.from_numpy(np.array(item_cate[1:], dtype=np.int64))
        out = []
        for s in range(0, ids.numel(), 65536):
            out.append(self.item_embeddings(ids[s:s + 65536], cates[s:s + 65536]))
        return torch.cat(out)

    @torch.no_grad()
    def score_user(self, hist_items, hist_cates, table):
        """Plain-forward scores (no log-Q) of one user's history (ids, up to
        max_len, right-padded) against every row of table [N, item_out] → [N]."""
        L = self.cfg.max_len
        hi = torch.zeros(L, dtype=torch.int64)
        hc = torch.zeros(L, dtype=torch.int64)
        hi[:len(hist_items)] = torch.as_tensor(hist_items, dtype=torch.int64)
        hc[:len(hist_cates)] = torch.as_tensor(hist_cates, dtype=torch.int64)
        seq = self.lookup(hi, hc)[None]
        k = self.attention.keys(seq)
        valid = (hi != 0)[None] if self.cfg.mask_padding else None
        out = []
        for s in range(0, table.shape[0], 8192):
            ev = table[s:s + 8192][None]
            out.append(self.score_from(ev, k, seq, valid)[0])
        return torch.cat(out)
