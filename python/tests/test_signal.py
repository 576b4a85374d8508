"""SIGTERM (what torchrun and batch schedulers send) stops training at a
step boundary with a checkpoint of that step, like nann train's Ctrl-C."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from tests.common import PYDIR, fixture, need_torch

need_torch()

from nann_torch import checkpoint as ck  # noqa: E402


class SignalTest(unittest.TestCase):
    def test_sigterm_writes_a_checkpoint(self):
        data = os.path.join(fixture(), "ds")
        d = tempfile.mkdtemp(prefix="nann-sig-")
        self.addCleanup(shutil.rmtree, d, True)
        run = os.path.join(d, "run")
        env = dict(os.environ, PYTHONPATH=PYDIR, OMP_NUM_THREADS="1")
        p = subprocess.Popen([sys.executable, "-m", "nann_torch.train", "--run", run, "--data", data, "--profile", "demo",
                              "--batch", "8", "--negatives", "3", "--max-steps", "400", "--checkpoint-every", "1000",
                              "--log-every", "1", "--threads", "1", "--no-onnx", "--no-verify"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            metrics = os.path.join(run, "metrics.jsonl")
            deadline = time.time() + 300
            while time.time() < deadline and p.poll() is None:
                if os.path.exists(metrics) and os.path.getsize(metrics) > 0:
                    break
                time.sleep(0.2)
            self.assertIsNone(p.poll(), "training ended before the signal")
            p.send_signal(signal.SIGTERM)
            _, err = p.communicate(timeout=120)
        finally:
            if p.poll() is None:
                p.kill()
        self.assertEqual(p.returncode, 130, err[-2000:])
        self.assertIn("checkpoint written", err)
        files = os.listdir(os.path.join(run, "ckpt"))
        self.assertEqual(len(files), 1, files)
        c = ck.read(os.path.join(run, "ckpt", files[0]))
        self.assertGreaterEqual(c.meta["step"], 1)
        self.assertLess(c.meta["step"], 400)
        self.assertEqual(files[0], f"step-{c.meta['step']:09d}.ckpt")
        with open(os.path.join(run, "metrics.jsonl")) as f:
            steps = [json.loads(line)["step"] for line in f]
        self.assertEqual(steps, list(range(1, c.meta["step"] + 1)))
        self.assertFalse(os.path.exists(os.path.join(run, "model.ckpt")))


if __name__ == "__main__":
    unittest.main()
