#!/usr/bin/env bash
# Same inputs and seed → same bytes? Runs the tiny world end to end with the
# nann binary BINARY in a fresh DIR, every step single-threaded where it has
# a choice, and writes DIR.sha: the sha256 of every output file, checkpoints
# included, but the training log (metrics.jsonl, report.json: timings).
# Compare two binaries with
#   scripts/same_bytes.sh OLD /tmp/a; scripts/same_bytes.sh NEW /tmp/b; diff /tmp/a.sha /tmp/b.sha
# (meta.json, config.json and manifest.json record absolute paths and times,
# so they differ between directories; every other file must not).
# Usage: scripts/same_bytes.sh BINARY DIR
set -euo pipefail
N=$(realpath "$(command -v "$1")") D=$(realpath -m "$2")
rm -rf "$D" && mkdir -p "$D" && cd "$D"
$N synth --preset tiny --out w.csv --log-level warn
$N prepare w.csv -o w.ds --workers 1 --log-level warn
$N train --run w.run --data w.ds --profile demo --batch 64 --negatives 20 --max-steps 60 --replicas 1 \
    --eval-users 50 --log-level warn --json > /dev/null
$N extract --run w.run --log-level warn
$N index --embs w.run/item_embs.npy --out w.idx --workers 1 --log-level warn --json > /dev/null
$N export --run w.run --index w.idx --base b --version 1 --precision float16 --log-level warn
$N export --run w.run --index w.idx --base b8 --version 1 --precision int8 --log-level warn
find . -type f ! -name metrics.jsonl ! -name report.json -print0 | sort -z | xargs -0 sha256sum > "$D.sha"
echo "wrote $D.sha ($(wc -l < "$D.sha") files)"
