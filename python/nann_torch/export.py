"""ONNX export of the scoring network in nann's import contract (issue 14):
user-side input `comm_seq` float32 [n, max_len, 2·emb_dim] (the user's
behaviour-sequence embedding, zero rows for padding) — or, with
user_input="ids", `hist_items` and `hist_cates` int64 [n, max_len] with the
embedding Gather inside the graph —, item-side input `item_emb` float32
[n, item_out] (rows of item_embs.npy, what the HNSW index is built on),
output `score` float32 [n] (the logit, higher is better). BatchNorm in
inference form (moving averages). opset 13, dynamic n."""

import torch

from .model import NANN


class ScoreGraph(torch.nn.Module):
    def __init__(self, model: NANN, user_input="comm_seq"):
        super().__init__()
        self.model, self.user_input = model, user_input

    def forward(self, *xs):
        if self.user_input == "ids":
            hi, hc, ev = xs
            return self.model.score_seq(self.model.lookup(hi, hc), ev)
        comm_seq, ev = xs
        return self.model.score_seq(comm_seq, ev)


def example_inputs(model, n=3, user_input="comm_seq", seed=0):
    g = torch.Generator().manual_seed(seed)
    c = model.cfg
    ev = torch.randn(n, c.item_out, generator=g)
    if user_input == "ids":
        hi = torch.randint(0, c.num_item + 1, (n, c.max_len), generator=g)
        hc = torch.randint(0, c.num_cate + 1, (n, c.max_len), generator=g)
        hi[:, c.max_len // 2:] = 0
        hc[:, c.max_len // 2:] = 0
        return (hi, hc, ev)
    seq = torch.randn(n, c.max_len, c.seq_dim, generator=g)
    seq[:, c.max_len // 2:] = 0
    return (seq, ev)


def input_names(user_input="comm_seq"):
    return (["hist_items", "hist_cates"] if user_input == "ids" else ["comm_seq"]) + ["item_emb"]


def export_onnx(model, path, user_input="comm_seq", opset=13):
    """Write model's scoring graph to path (atomically) and check it with
    onnx.checker; returns the onnx ModelProto."""
    import os
    import onnx
    model.eval()
    g = ScoreGraph(model, user_input).eval()
    names = input_names(user_input)
    axes = {n: {0: "n"} for n in names}
    axes["score"] = {0: "n"}
    tmp = path + ".tmp"
    with torch.no_grad():
        torch.onnx.export(g, example_inputs(model, user_input=user_input), tmp, input_names=names,
                          output_names=["score"], dynamic_axes=axes, opset_version=opset, do_constant_folding=True)
    m = onnx.load(tmp)
    onnx.checker.check_model(m)
    os.replace(tmp, path)
    return m
