#!/usr/bin/env bash
# The adversarial ablation of BENCHMARKS.md: the `small` world trained with
# the same seed and samples and FGSM eps = 0, 3e-5 (the reference), 1e-3 and
# 1e-2, then beam retrieval vs brute force on 1,000 test users.
# Usage: scripts/ablation.sh [WORKDIR]   (about 25 minutes on 2 cores)
set -euo pipefail
W=${1:-/tmp/nann-ablation}
N=${NANN:-nann}
mkdir -p "$W" && cd "$W"
[ -f small.csv ] || $N synth --preset small --out small.csv
[ -f small.ds/meta.json ] || $N prepare small.csv -o small.ds
for eps in 0 3e-5 1e-3 1e-2; do
  run=abl.eps$eps
  [ -f $run/report.json ] || $N train --run $run --data small.ds --profile demo --max-samples 200000 \
      --eval-users 300 --adv-eps $eps --json > $run.train.json
  [ -f $run/item_embs.npy ] || $N extract --run $run
  [ -f $run.idx/graph.hnsw ] || $N index --embs $run/item_embs.npy --out $run.idx
  $N eval --run $run --index $run.idx --users 1000 --json > $run.eval.json
done
