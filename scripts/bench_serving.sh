#!/usr/bin/env bash
# The serving table of BENCHMARKS.md: one bundle in process, over gRPC and
# over REST, at concurrency 1, 2 and 8, with real test users of its dataset.
# Usage: scripts/bench_serving.sh BASE_PATH DATASET OUT.md [DURATION]
# (BASE_PATH is the model base path, e.g. bundles/nann; the server runs on
# loopback ports 18500/18501 and is stopped at the end.)
set -euo pipefail
base=$1 data=$2 out=$3 dur=${4:-10s}
N=${NANN:-nann}
$N serve --model_base_path "$base" --port 18500 --rest_api_port 18501 --host 127.0.0.1 \
    --max_concurrent 8 --log-level warn &
srv=$!
trap 'kill $srv 2>/dev/null; wait $srv 2>/dev/null' EXIT
for i in $(seq 1 120); do
  curl -sf http://127.0.0.1:18501/v1/models/nann >/dev/null 2>&1 && break
  sleep 1
done
$N bench --target "inproc:$base,grpc:127.0.0.1:18500,rest:http://127.0.0.1:18501" \
    --inputs "dataset:$data" --concurrency 1,2,8 --duration "$dur" --warmup 2s \
    --report-every 0 --table "$out" --json > "${out%.md}.json"
cat "$out"
