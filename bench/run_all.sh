#!/usr/bin/env bash
# Every benchmark in bench/, one after the other, then ONE table of their figures
# (benchmark, figure, value, unit, target). A benchmark that fails or times out gets a
# row saying so; the others run all the same.
#
#   bench/run_all.sh                  # small sizes: a few minutes
#   BENCH_FULL=1 bench/run_all.sh     # the sizes bench/README.md reports (tens of minutes)
#
# BENCH_DATABASE_URL and BENCH_REDIS_URL choose the database (recreated) and the Redis db
# (flushed); by default each benchmark's own (forewarn_bench, Redis db 14).
# BENCH_TIMEOUT caps each benchmark's seconds (default 900). Outputs stay in BENCH_OUT
# (default: a new temporary directory), one file per benchmark.
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=${BENCH_OUT:-$(mktemp -d /tmp/forewarn-bench-XXXXXX)}
LIMIT=${BENCH_TIMEOUT:-900}
mkdir -p "$OUT"
where=()
[ -n "${BENCH_DATABASE_URL:-}" ] && where+=(--database-url "$BENCH_DATABASE_URL")
[ -n "${BENCH_REDIS_URL:-}" ] && where+=(--redis-url "$BENCH_REDIS_URL")
# bench.inapp starts a Redis of its own (it restarts it): the database only.
database=()
[ -n "${BENCH_DATABASE_URL:-}" ] && database+=(--database-url "$BENCH_DATABASE_URL")

if [ -n "${BENCH_FULL:-}" ]; then
    small=10000 large=100000 sms_only=20000 killed=(--mode both) page=(--duration 10)
    streams=2000 mutations=()
else
    small=2000 large=10000 sms_only=2000 killed=(--mode new) page=(--duration 3)
    streams=200 mutations=(1 2 3)
fi

# name | command: the name is the output file's and the table's first column.
run() {
    local name=$1
    shift
    echo "== $name: $*" >&2
    local started=$SECONDS
    # SIGINT first: the benchmark's cleanup stops the worker and web processes it started
    # (each in a session of its own, out of reach of a signal to this group); SIGTERM
    # left them running, sending for a database the next benchmark recreates.
    timeout --signal=INT --kill-after=30 "$LIMIT" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
    echo "$? $((SECONDS - started))" >"$OUT/$name.rc"
    tail -n 1 "$OUT/$name.err" >&2
}

run "fanout_$small" "$PY" -m bench.fanout --audience "$small" "${where[@]}"
run "fanout_$large" "$PY" -m bench.fanout --audience "$large" "${where[@]}"
run "fanout_sms_only_$sms_only" "$PY" -m bench.fanout --audience "$sms_only" \
    --sms-every 1 --sms-only "${where[@]}"
run killed "$PY" -m bench.killed "${killed[@]}" "${where[@]}"
run page "$PY" -m bench.page "${page[@]}" "${where[@]}"
run snapshot "$PY" -m bench.snapshot --runs 5 "${where[@]}"
run inapp "$PY" -m bench.inapp --streams "$streams" "${database[@]}"
run inapp_restart "$PY" -m bench.inapp --streams "$streams" --restart "${database[@]}"
run web_restart "$PY" -m bench.web_restart --kills 5
run mutations "$PY" -m bench.mutations "${mutations[@]}"

echo "outputs in $OUT" >&2
"$PY" -m bench.table "$OUT" "fanout_$small" "fanout_$large" "fanout_sms_only_$sms_only" \
    killed page snapshot inapp inapp_restart web_restart mutations
