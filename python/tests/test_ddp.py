"""torchrun data parallel on loopback: a 2-process gloo run that is killed
(SIGKILL) and resumed ends with exactly the parameters, optimiser moments,
BatchNorm averages and metrics of an uninterrupted 2-process run."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

import numpy as np

from tests.common import PYDIR, fixture, need_torch

need_torch()

from nann_torch import checkpoint as ck  # noqa: E402

STEPS, EVERY, KILL = 4, 2, 3


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(run, data, extra_env=None, onnx=False):
    env = dict(os.environ, PYTHONPATH=PYDIR, GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1")
    env.pop("NANN_TORCH_TEST_KILL_AFTER_STEP", None)
    env.update(extra_env or {})
    cmd = [sys.executable, "-m", "nann_torch.torchrun", "--nnodes", "1", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(free_port()), "--max_restarts", "0",
           "-m", "nann_torch.train", "--run", run, "--data", data, "--profile", "demo",
           "--batch", "16", "--negatives", "4", "--max-steps", str(STEPS), "--checkpoint-every", str(EVERY),
           "--log-every", "1", "--eval-users", "5", "--threads", "1", "--no-verify"]
    if not onnx:
        cmd.append("--no-onnx")
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)


class DDPResumeTest(unittest.TestCase):
    def test_kill_and_resume_equals_uninterrupted(self):
        data = os.path.join(fixture(), "ds")
        d = tempfile.mkdtemp(prefix="nann-ddp-")
        self.addCleanup(shutil.rmtree, d, True)
        a, b = os.path.join(d, "a"), os.path.join(d, "b")

        r = torchrun(a, data, onnx=True)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        self.assertIn("2 shards on 2 processes", r.stderr)

        r = torchrun(b, data, {"NANN_TORCH_TEST_KILL_AFTER_STEP": str(KILL)})
        self.assertNotEqual(r.returncode, 0, "the killed run should fail")
        self.assertFalse(os.path.exists(os.path.join(b, "model.ckpt")))
        self.assertEqual(sorted(os.listdir(os.path.join(b, "ckpt"))), [f"step-{EVERY:09d}.ckpt"])

        r = torchrun(b, data)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        self.assertIn(f"resuming run {b}: step {EVERY} of {STEPS}", r.stderr)

        for name in ("model.ckpt", f"ckpt/step-{STEPS:09d}.ckpt"):
            ca, cb = ck.read(os.path.join(a, name)), ck.read(os.path.join(b, name))
            self.assertEqual(sorted(ca.tensors), sorted(cb.tensors))
            for key in ca.tensors:
                np.testing.assert_array_equal(ca.tensors[key], cb.tensors[key], err_msg=f"{name} {key}")
            self.assertEqual(ca.meta["step"], STEPS)
        # training did move the weights (the equality is not of two untouched models)
        c0 = ck.read(os.path.join(b, "ckpt", f"step-{EVERY:09d}.ckpt"))
        cf = ck.read(os.path.join(b, "model.ckpt"))
        self.assertFalse(np.array_equal(c0.tensors[("param", "score_net/dense3/kernel")],
                                        cf.tensors[("param", "score_net/dense3/kernel")]))

        def rows(run):
            with open(os.path.join(run, "metrics.jsonl")) as f:
                return [json.loads(line) for line in f]
        ra, rb = rows(a), rows(b)
        self.assertEqual([x["step"] for x in ra], list(range(1, STEPS + 1)))
        self.assertEqual([x["step"] for x in rb], list(range(1, STEPS + 1)))
        for x, y in zip(ra, rb):
            self.assertEqual((x["loss"], x["loss_xe"], x["loss_adv"], x["acc"]), (y["loss"], y["loss_xe"], y["loss_adv"], y["acc"]))

        # the end products of run a
        for f in ("item_embs.npy", "item_ids.npy", "model.onnx", "report.json", "config.json"):
            self.assertTrue(os.path.exists(os.path.join(a, f)), f)
        embs, ids = np.load(os.path.join(a, "item_embs.npy")), np.load(os.path.join(a, "item_ids.npy"))
        self.assertEqual(embs.dtype, np.float32)
        self.assertEqual(ids.dtype, np.int64)
        self.assertEqual(embs.shape, (ids.shape[0], 64))
        np.testing.assert_array_equal(ids, np.arange(1, ids.shape[0] + 1))

        out = os.environ.get("NANN_TORCH_OUT")
        if out:  # for the Go side: nann loads this torch-trained run (python/torch_test.go)
            export_for_go(a, data, out)


def export_for_go(run, data, out):
    import torch
    from nann_torch.dataset import Dataset
    from nann_torch.model import NANN, Config
    shutil.copytree(run, os.path.join(out, "run"))
    with open(os.path.join(run, "config.json")) as f:
        rf = json.load(f)
    m = NANN(Config.from_json(rf["model"]))
    ck.load_model(m, ck.read(os.path.join(run, "model.ckpt")))
    m.eval()
    ds = Dataset(data, verify=False)
    hi, hc, _ = ds.histories(ds.test[:3])
    table = torch.from_numpy(np.load(os.path.join(run, "item_embs.npy")))
    scores = np.stack([m.score_user(hi[u], hc[u], table).numpy() for u in range(hi.shape[0])])
    np.save(os.path.join(out, "hist_items.npy"), hi.astype(np.int32))
    np.save(os.path.join(out, "hist_cates.npy"), hc.astype(np.int32))
    np.save(os.path.join(out, "torch_scores.npy"), scores.astype(np.float32))


if __name__ == "__main__":
    unittest.main()
