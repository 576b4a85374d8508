#!/usr/bin/python3
"""Scoring networks exported to ONNX, with PyTorch's scores as the referee.

Run with Debian's /usr/bin/python3 (python3-torch 1.13, python3-onnx 1.12):

    /usr/bin/python3 onnx/testdata/make_fixtures.py [--full] [OUTDIR]

For each network NAME it writes OUTDIR/NAME.onnx (torch.onnx.export, a
dynamic batch axis, checked with onnx.checker) and OUTDIR/NAME.npz holding
  user.<input>  the user-side inputs of U users, one row each ([U, ...]),
  item.<input>  the item-side input of every item of a small table ([N, ...]),
  scores        torch's float32 scores, [U, N] (user u against every item),
  scores64      the same network run in float64 (model.double()), [U, N].
The networks follow nann's contract: user inputs and one item input with a
leading batch dim n, one score output [n] or [n, 1]. Everything is seeded,
so a rerun writes the same numbers (up to torch's export metadata).
"""
import math
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn

SEQ = 50
USERS = 4
ITEMS = 200


class PReLULast(nn.Module):
    """PReLU over the last axis of a [n, L, C] tensor (nn.PReLU's channel axis
    is 1); exports as Greater, Mul, Where."""

    def __init__(self, c, init=0.25):
        super().__init__()
        self.weight = nn.Parameter(torch.full((c,), init))

    def forward(self, x):
        return torch.where(x > 0, x, self.weight * x)


class ItemNet(nn.Module):
    """The reference item network: Dense+BN+PReLU twice, then Dense."""

    def __init__(self, din, d):
        super().__init__()
        self.l1, self.b1, self.a1 = nn.Linear(din, d), nn.BatchNorm1d(d, eps=1e-3), nn.PReLU(d, 0.25)
        self.l2, self.b2, self.a2 = nn.Linear(d, d), nn.BatchNorm1d(d, eps=1e-3), nn.PReLU(d, 0.25)
        self.l3 = nn.Linear(d, d)

    def forward(self, x):
        x = self.a1(self.b1(self.l1(x)))
        x = self.a2(self.b2(self.l2(x)))
        return self.l3(x)


class Reference(nn.Module):
    """SPEC §2 at small sizes: item net over the item's features, target
    attention (query = e_v, keys = values = the behaviour sequence, softmax
    over the positions of q·k/sqrt(H)), score MLP with BN + PReLU."""

    user_inputs = ["comm_seq"]
    item_input = "item_feat"

    def __init__(self, w=16, h1=24, h2=32, mlp=(32, 16, 8)):
        super().__init__()
        self.item = ItemNet(w, w)
        self.q1, self.qa, self.q2 = nn.Linear(w, h1), nn.PReLU(h1, 0.25), nn.Linear(h1, h2)
        self.k1, self.ka, self.k2 = nn.Linear(w, h1), PReLULast(h1), nn.Linear(h1, h2)
        self.h2 = h2
        layers, din = [], 2 * w
        for m in mlp:
            layers += [nn.Linear(din, m), nn.BatchNorm1d(m, eps=1e-3), nn.PReLU(m, 0.25)]
            din = m
        layers.append(nn.Linear(din, 1, bias=False))
        self.mlp = nn.Sequential(*layers)
        self.w = w

    def example(self, g, n):
        seq = torch.randn(n, SEQ, self.w, generator=g)
        # Users with short histories: zero rows (padding) at the end.
        for i in range(n):
            k = int(torch.randint(1, SEQ + 1, (1,), generator=g))
            seq[i, k:] = 0
        return {"comm_seq": seq}, {"item_feat": torch.randn(n, self.w, generator=g)}

    def forward(self, comm_seq, item_feat):
        ev = self.item(item_feat)
        q = self.q2(self.qa(self.q1(ev)))                      # [n, H]
        k = self.k2(self.ka(self.k1(comm_seq)))                 # [n, L, H]
        logits = torch.matmul(k, q.unsqueeze(-1)).squeeze(-1)  # [n, L]
        a = torch.softmax(logits / math.sqrt(self.h2), dim=-1)
        att = torch.matmul(a.unsqueeze(1), comm_seq).squeeze(1)  # [n, w]
        return self.mlp(torch.cat([att, ev], dim=1))            # [n, 1]


class DIN(nn.Module):
    """A DIN-style activation unit over [q, k, q−k, q·k] per position, with a
    LayerNorm+GELU tower; the pooled history, the item and dense user
    features go through a LayerNorm+GELU score tower."""

    user_inputs = ["hist", "user_dense"]
    item_input = "item_emb"

    def __init__(self, d=16, f=6, au=32, tower=(48, 24)):
        super().__init__()
        self.au1, self.auln, self.au2 = nn.Linear(4 * d, au), nn.LayerNorm(au), nn.Linear(au, 1)
        layers, din = [], 2 * d + f
        for m in tower:
            layers += [nn.Linear(din, m), nn.LayerNorm(m), nn.GELU()]
            din = m
        layers.append(nn.Linear(din, 1))
        self.tower = nn.Sequential(*layers)
        self.d, self.f = d, f

    def example(self, g, n):
        return ({"hist": torch.randn(n, SEQ, self.d, generator=g), "user_dense": torch.randn(n, self.f, generator=g)},
                {"item_emb": torch.randn(n, self.d, generator=g)})

    def forward(self, hist, user_dense, item_emb):
        q = item_emb.unsqueeze(1).expand(-1, hist.shape[1], -1)   # [n, L, d]
        x = torch.cat([q, hist, q - hist, q * hist], dim=-1)      # [n, L, 4d]
        w = self.au2(nn.functional.gelu(self.auln(self.au1(x))))  # [n, L, 1]
        pooled = (w * hist).sum(dim=1)                            # [n, d]
        return self.tower(torch.cat([pooled, item_emb, user_dense], dim=-1)).squeeze(-1)  # [n]


class CrossTower(nn.Module):
    """A deep tower plus DCN cross layers over concat(user, item)."""

    user_inputs = ["user_feat"]
    item_input = "item_emb"

    def __init__(self, fu=12, d=16, layers=2, deep=(32, 16)):
        super().__init__()
        x = fu + d
        self.cross = nn.ModuleList([nn.Linear(x, x) for _ in range(layers)])
        mods, din = [], x
        for m in deep:
            mods += [nn.Linear(din, m), nn.ReLU()]
            din = m
        self.deep = nn.Sequential(*mods)
        self.out = nn.Linear(x + din, 1)
        self.fu, self.d = fu, d

    def example(self, g, n):
        return {"user_feat": torch.randn(n, self.fu, generator=g)}, {"item_emb": torch.randn(n, self.d, generator=g)}

    def forward(self, user_feat, item_emb):
        x0 = torch.cat([user_feat, item_emb], dim=1)
        x = x0
        for c in self.cross:
            x = x0 * c(x) + x
        h = self.deep(x0)
        return torch.sigmoid(self.out(torch.cat([x, h], dim=1)))  # [n, 1]


class IDs(nn.Module):
    """Raw ids in, embeddings inside the graph: masked mean of the history's
    embeddings (id 0 is padding), the item's embedding looked up from its id,
    an MLP with Tanh, and a dot-product term."""

    user_inputs = ["hist_ids"]
    item_input = "item_id"

    def __init__(self, vocab=ITEMS + 1, d=12, hid=24):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.l1, self.l2 = nn.Linear(2 * d, hid), nn.Linear(hid, 1)
        self.proj = nn.Linear(d, d, bias=False)
        self.vocab = vocab

    def example(self, g, n):
        ids = torch.randint(1, self.vocab, (n, SEQ), generator=g)
        for i in range(n):
            k = int(torch.randint(1, SEQ + 1, (1,), generator=g))
            ids[i, k:] = 0
        return {"hist_ids": ids}, {"item_id": torch.randint(1, self.vocab, (n,), generator=g)}

    def forward(self, hist_ids, item_id):
        e = self.emb(hist_ids)                                    # [n, L, d]
        mask = (hist_ids != 0).to(e.dtype).unsqueeze(-1)          # [n, L, 1]
        mean = (e * mask).sum(1) / mask.sum(1).clamp(min=1.0)     # [n, d]
        v = self.emb(item_id)                                     # [n, d]
        h = torch.tanh(self.l1(torch.cat([mean, v], dim=-1)))
        return self.l2(h) + (self.proj(mean) * v).sum(-1, keepdim=True)  # [n, 1]


class ReferenceFull(Reference):
    """The reference architecture at SPEC §2 sizes (seq width and e_v 64,
    attention 128/256, MLP 128/64/32), for speed comparisons with the hand
    engine; written only with --full (not committed: about 0.5 MB)."""

    def __init__(self):
        super().__init__(w=64, h1=128, h2=256, mlp=(128, 64, 32))


# name -> (constructor, opset)
FULL = {"reference_full": (ReferenceFull, 13)}
NETS = {
    "reference": (Reference, 13),
    "din13": (DIN, 13),
    "din17": (DIN, 17),
    "cross": (CrossTower, 13),
    "ids": (IDs, 13),
}


def randomize_bn(model, g):
    """Give BatchNorm non-trivial moving statistics and affine parameters, and
    PReLU non-trivial slopes, so that folding them is tested."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.3)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)
        if isinstance(m, (nn.PReLU, PReLULast)):
            m.weight.data.copy_(torch.rand(m.weight.shape, generator=g) * 0.5)
        if isinstance(m, nn.LayerNorm):
            m.weight.data.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)


def build(name, outdir):
    cls, opset = {**NETS, **FULL}[name]
    seed = sum(map(ord, name.rstrip("0123456789")))
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = cls()
    with torch.no_grad():
        randomize_bn(model, g)
    model.eval()
    users, _ = model.example(g, USERS)
    _, items = model.example(g, ITEMS)
    if name == "ids":
        items = {"item_id": torch.arange(1, ITEMS + 1)}
    names = cls.user_inputs + [cls.item_input]
    ex_u, ex_i = model.example(g, 3)
    args = tuple(ex_u[k] for k in cls.user_inputs) + (ex_i[cls.item_input],)
    path = os.path.join(outdir, name + ".onnx")
    torch.onnx.export(model, args, path, input_names=names, output_names=["score"],
                      dynamic_axes={k: {0: "n"} for k in names + ["score"]}, opset_version=opset,
                      do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))

    def scores(m, cast):
        out = np.zeros((USERS, ITEMS), dtype=np.float64)
        with torch.no_grad():
            for u in range(USERS):
                ins = [cast(users[k][u:u + 1].expand(ITEMS, *users[k].shape[1:])) for k in cls.user_inputs]
                out[u] = m(*ins, cast(items[cls.item_input])).reshape(ITEMS).double().numpy()
        return out

    keep = lambda t: t
    s32 = scores(model, keep)
    dbl = lambda t: t.double() if t.is_floating_point() else t
    s64 = scores(model.double(), dbl)
    arrays = {"scores": s32.astype(np.float32), "scores64": s64}
    for k in cls.user_inputs:
        arrays["user." + k] = users[k].numpy()
    arrays["item." + cls.item_input] = items[cls.item_input].numpy()
    np.savez(os.path.join(outdir, name + ".npz"), **arrays)
    print(f"{name}: opset {opset}, {os.path.getsize(path)} bytes, scores [{USERS}, {ITEMS}], "
          f"float32 vs float64 max |diff| {np.abs(s32 - s64).max():.2e}")


def main():
    args = [a for a in sys.argv[1:] if a != "--full"]
    outdir = args[0] if args else os.path.dirname(os.path.abspath(__file__))
    os.makedirs(outdir, exist_ok=True)
    for name in (FULL if "--full" in sys.argv else NETS):
        build(name, outdir)


if __name__ == "__main__":
    main()
