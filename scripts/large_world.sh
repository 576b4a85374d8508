#!/usr/bin/env bash
# The 1 M-item world end to end: the figures of BENCHMARKS.md's retrieval,
# engine and serving sections. Usage: scripts/large_world.sh [WORKDIR]
# Takes about an hour on 2 cores (training dominates); every step is skipped
# when its output exists, so it can be re-run after an interruption.
set -euo pipefail
W=${1:-/tmp/nann-large}
N=${NANN:-nann}
mkdir -p "$W" && cd "$W"
[ -f large.csv ] || $N synth --preset large --out large.csv
[ -f large.ds/meta.json ] || $N prepare large.csv -o large.ds --json > prepare.json
# The demo profile (batch 256, 20 negatives): 4 epochs of 1.2 M fresh samples
# (first run with --epochs 1, then resumed with --epochs 4).
[ -f large.run/report.json ] || $N train --run large.run --data large.ds --profile demo \
    --max-samples 1200000 --epochs 4 --eval-users 100 --checkpoint-every 1000 --json > train.json
[ -f large.run/item_embs.npy ] || $N extract --run large.run
[ -f large.idx/graph.hnsw ] || $N index --embs large.run/item_embs.npy --out large.idx --json > index.json
[ -f large.idx-faiss/graph.hnsw ] || $N index --embs large.run/item_embs.npy --out large.idx-faiss --faiss-links --json > index-faiss.json
# One sweep per graph: the reference's eval-form and serving-form defaults and
# a grid of wider and narrower beams, over 1,000 test users, brute force once.
for idx in large.idx large.idx-faiss; do
  [ -f sweep-$idx/sweep.csv ] || $N eval --run large.run --index $idx --users 1000 --float16 --sweep \
      --sweep-out sweep-$idx --json > sweep-$idx.json
done
[ -d bundles/nann/1 ] || $N export --run large.run --index large.idx-faiss --base bundles --version 1 --precision float16
