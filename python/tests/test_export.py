"""The ONNX export in nann's import contract (issue 14): valid under
onnx.checker, opset 13, inputs comm_seq [n, 50, 64] (or raw history ids)
and item_emb [n, 64], output score [n], only ops of the contract, and the
exported file itself (run by a NumPy evaluator) gives nann's Go scores."""

import os
import tempfile
import unittest

import numpy as np

from tests.common import fixture, need_torch

need_torch()

import onnx  # noqa: E402
import torch  # noqa: E402

from nann_torch.export import export_onnx  # noqa: E402
from tests import onnx_eval  # noqa: E402
from tests.test_model import go_model  # noqa: E402

# issue 14's op list
CONTRACT_OPS = set("""Gemm MatMul Add Sub Mul Div Pow Sqrt Exp Log Erf Tanh Sigmoid Relu LeakyRelu PRelu Clip Min Max
Neg Abs Where Greater Less Equal Not Cast Softmax LogSoftmax ReduceSum ReduceMean ReduceMax Concat
Split Slice Gather Reshape Flatten Transpose Squeeze Unsqueeze Expand Tile Shape ConstantOfShape
Constant Identity BatchNormalization LayerNormalization""".split())


def dims(vi):
    return [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]


class ExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        fx = fixture()
        cls.m = go_model().eval()
        g = os.path.join(fx, "scores")
        cls.table = np.load(os.path.join(g, "item_embs.npy"))
        cls.hi, cls.hc = np.load(os.path.join(g, "hist_items.npy")), np.load(os.path.join(g, "hist_cates.npy"))
        cls.scores = np.load(os.path.join(g, "scores.npy"))
        cls.dir = tempfile.mkdtemp(prefix="nann-onnx-")

    @classmethod
    def tearDownClass(cls):
        import shutil
        shutil.rmtree(cls.dir, True)

    def export(self, user_input):
        path = os.path.join(self.dir, f"{user_input}.onnx")
        export_onnx(self.m, path, user_input=user_input)
        mp = onnx.load(path)
        onnx.checker.check_model(mp)
        self.assertEqual([o.version for o in mp.opset_import if o.domain in ("", "ai.onnx")], [13])
        ops = {n.op_type for n in mp.graph.node}
        self.assertLessEqual(ops, CONTRACT_OPS, ops - CONTRACT_OPS)
        inf = onnx.shape_inference.infer_shapes(mp)
        self.assertEqual([(o.name, dims(o)) for o in inf.graph.output], [("score", ["n"])])
        return mp

    def feeds_and_check(self, mp, feeds_of):
        rng = np.random.default_rng(0)
        rows = np.concatenate([[0, self.table.shape[0] - 1], rng.integers(0, self.table.shape[0], 30)])
        worst = 0.0
        for u in range(3):
            feeds = feeds_of(u, rows)
            (got,) = onnx_eval.run(mp, feeds)
            self.assertEqual(got.shape, (len(rows),))
            worst = max(worst, float(np.abs(got - self.scores[u, rows]).max()))
        return worst

    def test_comm_seq_contract(self):
        mp = self.export("comm_seq")
        self.assertEqual([(i.name, dims(i), i.type.tensor_type.elem_type) for i in mp.graph.input],
                         [("comm_seq", ["n", 50, 64], 1), ("item_emb", ["n", 64], 1)])

        def feeds(u, rows):
            with torch.no_grad():
                seq = self.m.lookup(torch.from_numpy(self.hi[u].astype(np.int64)), torch.from_numpy(self.hc[u].astype(np.int64))).numpy()
            return {"comm_seq": np.repeat(seq[None], len(rows), 0), "item_emb": self.table[rows]}
        worst = self.feeds_and_check(mp, feeds)
        print(f"\nONNX (comm_seq) graph vs Go scores: max |diff| {worst:.3g}")
        self.assertLess(worst, 1e-4)

    def test_history_ids_contract(self):
        mp = self.export("ids")
        self.assertEqual([(i.name, dims(i), i.type.tensor_type.elem_type) for i in mp.graph.input],
                         [("hist_items", ["n", 50], 7), ("hist_cates", ["n", 50], 7), ("item_emb", ["n", 64], 1)])

        def feeds(u, rows):
            k = len(rows)
            return {"hist_items": np.repeat(self.hi[u][None].astype(np.int64), k, 0),
                    "hist_cates": np.repeat(self.hc[u][None].astype(np.int64), k, 0), "item_emb": self.table[rows]}
        worst = self.feeds_and_check(mp, feeds)
        print(f"\nONNX (history ids) graph vs Go scores: max |diff| {worst:.3g}")
        self.assertLess(worst, 1e-4)

    def test_evaluator_can_fail(self):
        mp = self.export("comm_seq")
        found = False
        for init in mp.graph.initializer:  # perturb one weight: the scores must move
            if list(init.dims) == [32, 1]:  # the score network's last kernel
                a = onnx.numpy_helper.to_array(init).copy() * 1.5
                init.CopyFrom(onnx.numpy_helper.from_array(a, init.name))
                found = True
                break
        self.assertTrue(found)
        with torch.no_grad():
            seq = self.m.lookup(torch.from_numpy(self.hi[0].astype(np.int64)), torch.from_numpy(self.hc[0].astype(np.int64))).numpy()
        (got,) = onnx_eval.run(mp, {"comm_seq": np.repeat(seq[None], 5, 0), "item_emb": self.table[:5]})
        self.assertGreater(float(np.abs(got - self.scores[0, :5]).max()), 1e-3)


if __name__ == "__main__":
    unittest.main()
