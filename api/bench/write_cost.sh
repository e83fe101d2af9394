#!/usr/bin/env bash
# What the running totals cost a write: the same signed load against two builds of the API,
# interleaved (A B A B) so the machine's other load falls on both alike, SQLite and PostgreSQL.
# Usage: [ROUNDS=2] api/bench/write_cost.sh <economy-api without the totals> <economy-api with them> [seconds]
#   (loadgen from $BIN, default target/release; PostgreSQL from $PG_URL)
# Prints one JSON line per run, prefixed by the build and backend; docs/benchmarks.md
# ("Totals › what the running totals cost a write") records the figures.
set -euo pipefail
BEFORE=$1
AFTER=$2
SECS=${3:-10}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release}
PG_ADMIN=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
WORK=$(mktemp -d)
KEY="bench:read+write:$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
PORT=18092
SERVER=
SCHEMAS=()
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; for s in "${SCHEMAS[@]}"; do psql "$PG_ADMIN" -qc "DROP SCHEMA $s CASCADE" >/dev/null 2>&1; done; rm -rf "$WORK"' EXIT

serve() { # $1 = binary, $2 = DATABASE_URL
  DATABASE_URL="$2" API_BIND="127.0.0.1:$PORT" API_KEYS="$KEY" \
  API_RATE_IP_PER_SEC=1000000 API_RATE_IP_BURST=1000000 API_RATE_KEY_PER_SEC=1000000 \
  API_RATE_KEY_BURST=1000000 API_DB_MAX_CONNECTIONS=16 RUST_LOG=warn \
    "$1" 2>>"$WORK/server.log" &
  SERVER=$!
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && return; sleep 0.1; done
  echo "server did not start" >&2; exit 1
}
stop() { kill -TERM "$SERVER"; wait "$SERVER" || true; SERVER=; }
load() { LOADGEN_KEY="$KEY" "$BIN/loadgen" http --url "http://127.0.0.1:$PORT" --duration "$SECS" --actors 20 "$@"; }
runs() { # $1 = label
  echo "$1 batch50x32 $(load --batch 50 --concurrency 32)"
  echo "$1 single x64 $(load --batch 1 --concurrency 64)"
}

for round in $(seq "${ROUNDS:-2}"); do
  for build in before after; do
    bin=$BEFORE; [ "$build" = after ] && bin=$AFTER
    serve "$bin" "sqlite://$WORK/$build-$round.db"
    runs "sqlite $build r$round"
    stop
    s="bench_cost_$(date +%s%N)"; SCHEMAS+=("$s")
    psql "$PG_ADMIN" -qc "CREATE SCHEMA $s" >/dev/null
    serve "$bin" "$PG_ADMIN?options=-c%20search_path%3D$s"
    runs "postgres $build r$round"
    stop
  done
done
