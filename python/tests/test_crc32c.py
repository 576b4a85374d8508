import os
import struct
import unittest

import numpy as np

from nann_torch.crc32c import crc32c, crc32c_reference
from tests.common import fixture


class CRC32CTest(unittest.TestCase):
    def test_check_value(self):
        # the CRC-32C check value (RFC 3720 B.4)
        self.assertEqual(crc32c(b"123456789"), 0xE3069283)
        self.assertEqual(crc32c(b""), 0)
        self.assertEqual(crc32c(bytes(32)), 0x8A9136AA)  # RFC 3720 B.4: 32 bytes of zeros

    def test_matches_bitwise_reference(self):
        r = np.random.default_rng(7)
        for n in [1, 2, 3, 4, 5, 63, 64, 65, 255, 256, 1000, 4095, 4096, 4097, 12345, 70001]:
            d = r.integers(0, 256, n, dtype=np.uint8).tobytes()
            self.assertEqual(crc32c(d), crc32c_reference(d), f"{n} bytes")
            # numpy arrays of other dtypes are read as their bytes
            self.assertEqual(crc32c(np.frombuffer(d, np.uint8)), crc32c_reference(d))

    def test_go_values_of_a_prepared_dataset(self):
        # nann prepare (Go's hash/crc32) stored these checksums in the headers
        ds = os.path.join(fixture(), "ds")
        for name in ("sequences.bin", "train.samples", "test.samples", "valid.samples"):
            with open(os.path.join(ds, name), "rb") as f:
                b = f.read()
            self.assertEqual(crc32c(b[64:]), struct.unpack_from("<I", b, 32)[0], name)
            self.assertEqual(crc32c(b[:36]), struct.unpack_from("<I", b, 36)[0], name)


if __name__ == "__main__":
    unittest.main()
