#!/usr/bin/env bash
# Issue 18, the paper's comparison: per adversarial eps, train to convergence
# (early stopping on validation Recall@200), then recall and coverage vs items
# scored for beam retrieval and SL2G against the brute-force ceiling, on
# $USERS test users, and one figure with a row per eps (nann plot).
# Everything resumes: run it again after a kill or in a later session and it
# continues training from the newest checkpoint and skips finished steps.
# Usage: scripts/paper_figure.sh [WORKDIR]
#   PRESET (medium), USERS (5000), EPS ("0 3e-5 3e-4 3e-3"), TRAIN (flags below), NANN (nann)
set -euo pipefail
W=${1:-/tmp/nann-paper}
N=${NANN:-nann}
PRESET=${PRESET:-medium}
USERS=${USERS:-5000}
EPS=${EPS:-"0 3e-5 3e-4 3e-3"}
# The demo profile's step (batch 256, 20 negatives) over every training sample,
# up to 5 epochs, validated every 2000 steps on 2000 validation users.
TRAIN=${TRAIN:-"--profile demo --max-samples 0 --epochs 5 --checkpoint-every 1000 --eval-every 2000 --valid-users 2000 --patience 3 --eval-users $USERS"}
mkdir -p "$W" && cd "$W"
[ -f $PRESET.csv ] || $N synth --preset $PRESET --out $PRESET.csv
[ -f $PRESET.ds/meta.json ] || $N prepare $PRESET.csv -o $PRESET.ds
args=()
for eps in $EPS; do
  run=$PRESET.eps$eps
  # Same seed and settings for every eps; only --adv-eps changes.
  [ -f $run/report.json ] || $N train --run $run --data $PRESET.ds $TRAIN --adv-eps $eps --json > $run.train.json
  [ -f $run/item_embs.npy ] || $N extract --run $run
  [ -f $run.idx/graph.hnsw ] || $N index --embs $run/item_embs.npy --out $run.idx
  [ -f $run.sweep/sweep.csv ] || $N eval --run $run --index $run.idx --users $USERS --float16 --sweep --sweep-out $run.sweep --json > $run.sweep.json
  args+=(--csv "eps $eps=$run.sweep/sweep.csv")
done
$N plot "${args[@]}" --k 200 --min-pct 0.3 --max-pct 4 --out figure.png
# loss_adv / loss_xe (adv_share) and where training stopped, per eps.
for eps in $EPS; do
  /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); t=r["training"]; v=r.get("validation") or {};
print("eps %-6s steps %6d  loss_xe %.4f  loss_adv %.3g  adv_share %.3g  best valid R@200 %.4f at step %s  test brute R@200 %.4f" % (
  sys.argv[2], t["steps"], t["loss_xe"], t["loss_adv"], t["adv_share"], v.get("best_recall", float("nan")), v.get("best_step"), r["recall"]["200"]))' \
    $PRESET.eps$eps/report.json $eps
done
