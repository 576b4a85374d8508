import os
import shutil
import tempfile
import unittest

import numpy as np

from nann_torch.dataset import Dataset, DatasetError
from tests.common import fixture


class DatasetTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = os.path.join(fixture(), "ds")
        cls.ds = Dataset(cls.dir)

    def test_counts_and_tables(self):
        ds = self.ds
        self.assertEqual(ds.train.shape[0], ds.meta["num_train_samples"])
        self.assertEqual(ds.offsets.shape[0], ds.meta["num_user"] + 1)
        self.assertEqual(int(ds.offsets[-1]), ds.items.shape[0])
        self.assertEqual(ds.item_cate.shape, (ds.num_item + 1,))
        self.assertAlmostEqual(float(np.sum(ds.item_weight)), 1.0, places=9)
        self.assertIsInstance(ds.items, np.memmap)  # in place, not copied

    def test_histories_match_go(self):
        # Go's dataset.Fill of the first test users (scores fixture)
        g = os.path.join(fixture(), "scores")
        gi, gc = np.load(os.path.join(g, "hist_items.npy")), np.load(os.path.join(g, "hist_cates.npy"))
        hi, hc, n = self.ds.histories(self.ds.test[:gi.shape[0]])
        np.testing.assert_array_equal(hi, gi)
        np.testing.assert_array_equal(hc, gc)
        # and the fixed training batch of the gradient fixture
        g = os.path.join(fixture(), "grads")
        gi = np.load(os.path.join(g, "batch_hist_items.npy"))
        idx = [(i * 7919) % self.ds.train.shape[0] for i in range(gi.shape[0])]
        hi, _, _ = self.ds.histories(self.ds.train[idx])
        np.testing.assert_array_equal(hi, gi)
        ti, _ = self.ds.targets(self.ds.train[idx])
        np.testing.assert_array_equal(ti, np.load(os.path.join(g, "batch_cand_items.npy"))[:, 0])

    def test_history_semantics(self):
        ds = self.ds
        s = ds.train[:50]
        hi, hc, n = ds.histories(s)
        for k in range(s.shape[0]):
            items, _ = ds.user_sequence(int(s[k]["user"]))
            p = int(s[k]["pos"])
            want = np.asarray(items[max(0, p - 50):p])
            np.testing.assert_array_equal(hi[k, :len(want)], want)
            self.assertTrue((hi[k, len(want):] == 0).all())
            self.assertEqual(n[k], len(want))

    def corrupt(self, name, mutate):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d, True)
        c = os.path.join(d, "ds")
        shutil.copytree(self.dir, c)
        p = os.path.join(c, name)
        with open(p, "rb") as f:
            b = bytearray(f.read())
        with open(p, "wb") as f:
            f.write(mutate(b))
        return c, p

    def test_bad_files_are_named(self):
        def flip(off):
            def m(b):
                b[off] ^= 1
                return b
            return m
        cases = [
            ("sequences.bin", flip(1000), "payload checksum mismatch"),
            ("train.samples", flip(70), "payload checksum mismatch"),
            ("train.samples", flip(20), "header checksum mismatch"),
            ("test.samples", lambda b: b[:-3], "truncated"),
            ("valid.samples", lambda b: b"XXXXXXXX" + b[8:], "bad magic"),
            ("sequences.bin", lambda b: b[:10], "shorter than the 64-byte header"),
        ]
        for name, mutate, msg in cases:
            c, p = self.corrupt(name, mutate)
            with self.assertRaises(DatasetError) as cm:
                Dataset(c)
            self.assertIn(p, str(cm.exception))
            self.assertIn(msg, str(cm.exception))
        # without verification a flipped payload byte of samples is not noticed
        c, _ = self.corrupt("train.samples", flip(68))
        Dataset(c, verify=False)

    def test_missing_meta(self):
        with self.assertRaises(DatasetError) as cm:
            Dataset(tempfile.gettempdir() + "/no-such-dataset")
        self.assertIn("meta.json", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
