"""The PyTorch model against nann's Go model: same scores from a Go-trained
checkpoint, same gradients (with the FGSM term) on one fixed batch, the
checkpoint format both ways, same profiles and defaults."""

import json
import os
import tempfile
import unittest

import numpy as np

from tests.common import fixture, need_torch

need_torch()

import torch  # noqa: E402

from nann_torch import checkpoint as ck  # noqa: E402
from nann_torch import config as tconfig  # noqa: E402
from nann_torch.dataset import Dataset  # noqa: E402
from nann_torch.model import NANN, Config  # noqa: E402
from nann_torch.train import AdamW, Sampler, shard_loss  # noqa: E402


def go_model(path=None):
    fx = fixture()
    with open(os.path.join(fx, "run", "config.json")) as f:
        rf = json.load(f)
    m = NANN(Config.from_json(rf["model"]), seed=5)
    ck.load_model(m, ck.read(path or os.path.join(fx, "run", "model.ckpt")))
    return m


class ScoresTest(unittest.TestCase):
    def test_go_checkpoint_gives_go_scores(self):
        fx = fixture()
        m = go_model().eval()
        ds = Dataset(os.path.join(fx, "ds"))
        table = m.all_item_embeddings(ds.item_cate)
        g = os.path.join(fx, "scores")
        go_table = np.load(os.path.join(g, "item_embs.npy"))
        self.assertEqual(table.shape, go_table.shape)
        self.assertLess(float(np.abs(table.numpy() - go_table).max()), 1e-4)
        hi, hc = np.load(os.path.join(g, "hist_items.npy")), np.load(os.path.join(g, "hist_cates.npy"))
        want = np.load(os.path.join(g, "scores.npy"))
        worst = 0.0
        for u in range(hi.shape[0]):
            got = m.score_user(hi[u], hc[u], table).numpy()
            worst = max(worst, float(np.abs(got - want[u]).max()))
        print(f"\nGo vs PyTorch plain-forward scores: {hi.shape[0]} users x {want.shape[1]} items, max |diff| {worst:.3g}")
        self.assertLess(worst, 1e-4)
        # the check can fail: a model off by one BatchNorm statistic is far off
        with torch.no_grad():
            m.score_net.bn1.moving_mean += 0.05
        got = m.score_user(hi[0], hc[0], table).numpy()
        self.assertGreater(float(np.abs(got - want[0]).max()), 1e-3)

    def test_fresh_model_is_not_go_model(self):
        fx = fixture()
        with open(os.path.join(fx, "run", "config.json")) as f:
            rf = json.load(f)
        m = NANN(Config.from_json(rf["model"]), seed=1).eval()
        g = os.path.join(fx, "scores")
        table = torch.from_numpy(np.load(os.path.join(g, "item_embs.npy")))
        got = m.score_user(np.load(os.path.join(g, "hist_items.npy"))[0], np.load(os.path.join(g, "hist_cates.npy"))[0], table)
        self.assertGreater(float(np.abs(got.numpy() - np.load(os.path.join(g, "scores.npy"))[0]).max()), 1e-3)


class CheckpointTest(unittest.TestCase):
    def test_round_trip_is_byte_identical(self):
        # a Go checkpoint with Adam moments → PyTorch → written back: the same tensors, in the same order
        fx = fixture()
        ckdir = os.path.join(fx, "run", "ckpt")
        path = os.path.join(ckdir, sorted(os.listdir(ckdir))[-1])
        c = ck.read(path)
        m = go_model(os.path.join(fx, "run", "model.ckpt"))
        opt = AdamW(ck.param_list(m), 1e-3, 0.9, 0.999, 1e-8, 1e-4)
        ck.load_model(m, c, opt)
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "back.ckpt")
            ck.write(out, c.meta, ck.model_tensors(m, opt))
            back = ck.read(out)
        order = [(t["kind"], t["name"]) for t in c.meta["tensors"]]
        self.assertEqual([(t["kind"], t["name"]) for t in back.meta["tensors"]], order)
        for key in order:
            np.testing.assert_array_equal(back.tensors[key], c.tensors[key], err_msg=str(key))
        with open(path, "rb") as f:
            orig = f.read()
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "back.ckpt")
            ck.write(out, c.meta, ck.model_tensors(m, opt))
            with open(out, "rb") as f:
                mine = f.read()
        # same payload bytes (the JSON meta may be formatted differently)
        plen = int.from_bytes(orig[16:24], "little")
        self.assertEqual(orig[-32 - plen:-32], mine[-32 - plen:-32])

    def test_names_and_order_are_nanns(self):
        fx = fixture()
        with open(os.path.join(fx, "grads", "meta.json")) as f:
            meta = json.load(f)
        m = go_model()
        self.assertEqual([n for n, _ in ck.param_list(m)], meta["params"])
        self.assertEqual([n for n, _ in ck.state_list(m)], meta["state"])
        for n, p in ck.param_list(m):
            self.assertEqual(ck.go_name(ck.torch_name(n)), n)

    def test_bad_checkpoints(self):
        fx = fixture()
        with open(os.path.join(fx, "run", "model.ckpt"), "rb") as f:
            b = f.read()
        for data, msg in [(b[:-1], "SHA-256"), (b"NANNCKPX" + b[8:], "bad magic"), (b[:20], "too short")]:
            with self.assertRaises(ck.CheckpointError) as cm:
                ck.decode(data)
            self.assertIn(msg, str(cm.exception))
        c = ck.read(os.path.join(fx, "run", "model.ckpt"))
        del c.tensors[("param", "score_net/dense3/kernel")]
        with self.assertRaises(ck.CheckpointError) as cm:
            ck.load_model(go_model(), c)
        self.assertIn("score_net/dense3/kernel", str(cm.exception))


ZERO_GRAD = {"item_net/dense0/bias", "item_net/dense1/bias", "score_net/dense0/bias", "score_net/dense1/bias",
             "score_net/dense2/bias", "attention/key_dense1/bias"}


class GradientTest(unittest.TestCase):
    def grads(self, adv_eps):
        g = os.path.join(fixture(), "grads")
        with open(os.path.join(g, "meta.json")) as f:
            meta = json.load(f)
        m = go_model()
        ld = lambda n: torch.from_numpy(np.load(os.path.join(g, n)).astype(np.int64))  # noqa: E731
        loss, st = shard_loss(m, ld("batch_hist_items.npy"), ld("batch_hist_cates.npy"), ld("batch_cand_items.npy"),
                              ld("batch_cand_cates.npy"), torch.from_numpy(np.load(os.path.join(g, "batch_logq.npy"))),
                              adv_eps, meta["adv_weight"])
        loss.backward()
        return m, st, meta, g

    def compare(self, m, g):
        go = [np.load(os.path.join(g, f"grad_{i:03d}.npy")) for i in range(len(ck.param_list(m)))]
        scale = max(float(np.abs(x).max()) for x in go)
        worst, bad = 0.0, []
        for (n, p), want in zip(ck.param_list(m), go):
            got = p.grad.numpy()
            err = float(np.abs(got - want).max())
            if n in ZERO_GRAD:
                # a bias right before a BatchNorm (or bk2, which the softmax
                # cancels) has gradient 0 exactly; both sides hold rounding noise
                if max(float(np.abs(got).max()), float(np.abs(want).max())) > 1e-6 * scale:
                    bad.append(f"{n}: gradient should be 0, Go {np.abs(want).max():.3g}, torch {np.abs(got).max():.3g}")
                continue
            tol = 1e-3 * float(np.abs(want).max()) + 1e-7 * scale
            worst = max(worst, err / scale)
            if err > tol:
                bad.append(f"{n}: max |diff| {err:.3g} > {tol:.3g}")
        return worst, bad

    def test_fgsm_gradients(self):
        with open(os.path.join(fixture(), "grads", "meta.json")) as f:
            adv_eps = json.load(f)["adv_eps"]
        m, st, meta, g = self.grads(adv_eps)
        self.assertAlmostEqual(float(st[1]), meta["loss_xe"], delta=1e-5 * abs(meta["loss_xe"]))
        self.assertAlmostEqual(float(st[2]), meta["loss_adv"], delta=1e-4 * abs(meta["loss_adv"]) + 1e-9)
        self.assertGreater(meta["loss_adv"], 1e-4)  # the adversarial term is really there
        self.assertEqual(int(st[3]), meta["correct"])
        self.assertEqual(int(st[4]), meta["correct_nologq"])
        worst, bad = self.compare(m, g)
        print(f"\nGo vs PyTorch gradients with FGSM (eps {meta['adv_eps']}): max |diff| / max |grad| = {worst:.3g}")
        self.assertEqual(bad, [])
        # the BatchNorm statistics of the clean pass, in nann's state order
        for i, bn in enumerate(m.batchnorms()):
            np.testing.assert_allclose(bn.last_stats[0].numpy(), np.load(os.path.join(g, f"bn_{2 * i:03d}.npy")), atol=1e-5)
            np.testing.assert_allclose(bn.last_stats[1].numpy(), np.load(os.path.join(g, f"bn_{2 * i + 1:03d}.npy")), atol=1e-5)
        # without the adversarial term the gradients are different: the comparison can fail
        m0, _, _, _ = self.grads(0.0)
        _, bad0 = self.compare(m0, g)
        self.assertNotEqual(bad0, [])


class ConfigTest(unittest.TestCase):
    def test_profiles_are_nann_trains(self):
        with open(os.path.join(fixture(), "profiles.json")) as f:
            go = json.load(f)
        for name in tconfig.PROFILES:
            self.assertEqual(tconfig.profile(name), go[name], name)
        self.assertEqual(sorted(tconfig.PROFILES), sorted(k for k in go if k != "model"))
        d = Config(num_item=1, num_cate=1).to_json()
        for k, v in go["model"].items():
            if k not in ("num_item", "num_cate"):
                self.assertAlmostEqual(d[k], v, msg=k) if isinstance(v, float) else self.assertEqual(d[k], v, k)

    def test_validate_reports_everything(self):
        c = tconfig.profile("demo")
        c.update(batch=0, lr=20, log_every=0, eval_every=100)
        with self.assertRaises(ValueError) as cm:
            tconfig.validate(c)
        for s in ("data", "batch", "lr", "log_every", "eval_every"):
            self.assertIn(s, str(cm.exception))


class SamplerTest(unittest.TestCase):
    def test_unique_and_logq(self):
        w = np.array([0, 5, 1, 1, 0, 3, 10, 2, 2, 1], dtype=np.float64)
        s = Sampler(w)
        rng = np.random.Generator(np.random.PCG64(3))
        counts = np.zeros(len(w))
        trials = 3000
        total_tries = 0
        for _ in range(trials):
            ids, tries = s.sample_unique(rng, 4)
            self.assertEqual(len(set(ids.tolist())), 4)
            self.assertNotIn(0, ids)
            self.assertNotIn(4, ids)  # weight 0 is never drawn
            counts[ids] += 1
            total_tries += tries
        # expected count per item 1 − (1 − p)^tries is log-Q's basis; check it on average
        p = w / w.sum()
        tries_mean = total_tries / trials
        pred = -np.expm1(tries_mean * np.log1p(-p))
        np.testing.assert_allclose(counts / trials, pred, atol=0.05)
        lq = s.log_q(np.array([1, 6]), 7)
        np.testing.assert_allclose(lq, np.log(1 - (1 - p[[1, 6]]) ** 7), rtol=1e-6)
        self.assertEqual(sorted(s.sample_unique(rng, 8)[0].tolist()), [1, 2, 3, 5, 6, 7, 8, 9])
        with self.assertRaises(ValueError):
            s.sample_unique(rng, 9)  # only 8 items can be drawn


class AdamWTest(unittest.TestCase):
    def test_tf_contrib_form(self):
        p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))
        opt = AdamW([("w", p)], lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01)
        w = np.array([1.0, -2.0, 0.5])
        m = np.zeros(3)
        v = np.zeros(3)
        for t in range(1, 4):
            g = np.array([0.3, -0.1, 0.0]) * t
            p.grad = torch.tensor(g, dtype=torch.float32)
            opt.apply()
            w = w - 0.01 * w
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            w = w - 0.1 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t) * m / (np.sqrt(v) + 1e-8)
        np.testing.assert_allclose(p.detach().numpy(), w, rtol=1e-5)


if __name__ == "__main__":
    unittest.main()
