#!/bin/bash
# HNSW build/recall comparison: nann vs Faiss IndexHNSWFlat vs hnswlib on the
# same 200 K x 64 clustered vectors, same machine, one run (nann is run before
# and after the two libraries to bracket load changes).
# Usage: scripts/bench_hnsw.sh [WORKDIR] (from any directory)
set -euo pipefail
W=$(realpath -m "${1:-/tmp/hnsw_bench}")
mkdir -p "$W"
cd "$(dirname "$0")/.."
CGO_ENABLED=0 go build -o "$W/nann" ./cmd/nann
# 1000 Gaussian clusters (centres N(0,1), spread 0.5), seed 42; the long test
# writes them and prints its own build time and recall.
[ -f "$W/embs.npy" ] || NANN_LONG=1 NANN_EMBS_OUT="$W/embs.npy" go test -count=1 -run TestLongRecall200K -v ./hnsw
# The very queries hnsw_anchor.py makes (rng 0: base points + 0.1*std noise).
/usr/bin/python3 -c "
import numpy as np, sys
x = np.load(sys.argv[1]).astype(np.float32); n, d = x.shape
rng = np.random.default_rng(0)
q = x[rng.choice(n, 1000, replace=False)] + rng.normal(0, x.std() * 0.1, (1000, d)).astype(np.float32)
np.save(sys.argv[2], q.astype(np.float32))" "$W/embs.npy" "$W/queries.npy"
uptime | tee "$W/uptime_before"
"$W/nann" index --embs "$W/embs.npy" --out "$W/idx" --check-queries 1000 --queries "$W/queries.npy" --json > "$W/nann1.json"
/usr/bin/python3 /work/shared/tools/hnsw_anchor.py "$W/embs.npy" > "$W/anchor.json"
"$W/nann" index --embs "$W/embs.npy" --out "$W/idx" --check-queries 1000 --queries "$W/queries.npy" --json > "$W/nann2.json"
uptime | tee "$W/uptime_after"
# Build time only, interleaved pairs (nann, hnswlib) to average out load.
: > "$W/pairs.txt"
for i in 1 2 3; do
  "$W/nann" index --embs "$W/embs.npy" --out "$W/idx" --json 2>/dev/null |
    /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print('nann    wall %.2f s  cpu %.2f s' % (d['build_seconds'], d['build_cpu_seconds']))" >> "$W/pairs.txt"
  /usr/bin/python3 -c "
import sys, time, numpy as np, hnswlib
x = np.load(sys.argv[1]).astype(np.float32)
h = hnswlib.Index(space='l2', dim=x.shape[1]); h.init_index(max_elements=len(x), M=32, ef_construction=40)
t, c = time.time(), time.process_time(); h.add_items(x)
print('hnswlib wall %.2f s  cpu %.2f s' % (time.time() - t, time.process_time() - c))" "$W/embs.npy" >> "$W/pairs.txt"
done
uptime | tee -a "$W/uptime_after"
cat "$W/pairs.txt"
/usr/bin/python3 - "$W" <<'PY'
import json, sys
w = sys.argv[1]
rows = []
for f in ("nann1.json", "nann2.json"):
    d = json.load(open(f"{w}/{f}"))
    rows.append((f"nann ({f[4]})", d["build_seconds"], {c["ef"]: (c["recall10"], c["qps"]) for c in d["check"]}, d["bytes_per_node"]))
for line in open(f"{w}/anchor.json"):
    d = json.loads(line)
    rows.append((d["system"], d["build_s"], {int(k[2:]): (v["recall10"], v["qps"]) for k, v in d.items() if k.startswith("ef") and k[2:].isdigit()}, None))
print("| system | build s | " + " | ".join(f"recall@10 ef{e}" for e in (16, 32, 64, 128)) + " | " + " | ".join(f"QPS ef{e}" for e in (16, 32, 64, 128)) + " |")
print("|---" * 10 + "|")
for name, b, ef, _ in rows:
    print(f"| {name} | {b:.2f} | " + " | ".join(f"{ef[e][0]:.4f}" for e in (16, 32, 64, 128)) + " | " + " | ".join(f"{ef[e][1]:.0f}" for e in (16, 32, 64, 128)) + " |")
PY
