"""Shared helpers of the nann_torch tests.

The Go side of the agreement checks (a prepared tiny world, a run trained by
`nann`'s trainer, Go's scores and gradients) comes from the Go test
python/fixture_test.go: $NANN_TORCH_FIXTURE names a directory it wrote (the
Go test runner of this suite sets it); otherwise it is made once per process
with `go test -run '^TestFixture$' ./python`, or the tests that need it skip.
"""

import atexit
import os
import shutil
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PYDIR = os.path.dirname(HERE)
REPO = os.path.dirname(PYDIR)

_fixture = None


def fixture():
    global _fixture
    if _fixture:
        return _fixture
    d = os.environ.get("NANN_TORCH_FIXTURE")
    if d:
        _fixture = d
        return d
    if not shutil.which("go"):
        raise unittest.SkipTest("no Go toolchain to build the Go fixture (set NANN_TORCH_FIXTURE)")
    d = tempfile.mkdtemp(prefix="nann-torch-fixture-")
    atexit.register(shutil.rmtree, d, True)
    env = dict(os.environ, NANN_TORCH_FIXTURE_OUT=d, CGO_ENABLED="0")
    r = subprocess.run(["go", "test", "-count=1", "-run", "^TestFixture$", "./python"], cwd=REPO, env=env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"go test -run TestFixture ./python failed:\n{r.stdout}\n{r.stderr}")
    _fixture = d
    return d


def need_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        raise unittest.SkipTest("python3-torch is not installed (apt-get install python3-torch)")
