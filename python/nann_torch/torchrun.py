"""`torchrun`, usable with Debian's torch 1.13 on Python 3.11.

torch 1.13's launcher parses its --redirects/--tee flags (default "0") with
Std.from_str, which looks the value up by iterating the IntFlag Std; since
Python 3.11 that iteration skips the zero member NONE, so every plain
`torchrun` call fails with "'NoneType' object has no attribute 'get'".
This module fixes that lookup and runs torch.distributed.run.main:

    python3 -m nann_torch.torchrun --nnodes 1 --nproc_per_node 2 \
        --master_addr 127.0.0.1 --master_port 29500 -m nann_torch.train ...

(With a torch that has no such problem, plain `torchrun` takes the same flags.)
"""

import re
import sys

from torch.distributed.elastic.multiprocessing import api


def _from_str(cls, vm):
    if re.fullmatch(r"[0-3]", vm):
        return cls(int(vm))
    if re.fullmatch(r"(\d:[0-3],)*\d:[0-3]", vm):
        return {int(k): cls(int(v)) for k, v in (kv.split(":") for kv in vm.split(","))}
    raise ValueError(f"{vm} does not match {api._VALUE_REGEX} or {api._MAPPING_REGEX}")


api.Std.from_str = classmethod(_from_str)


def main():
    from torch.distributed.run import main as run_main
    run_main()


if __name__ == "__main__":
    sys.exit(main())
