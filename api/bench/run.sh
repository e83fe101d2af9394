#!/usr/bin/env bash
# Audit API benchmark: raw insert ceilings and signed HTTP load, SQLite and PostgreSQL.
# Usage: api/bench/run.sh [seconds-per-run]   (needs a release build and PostgreSQL at $PG_URL)
# Prints one JSON line per run; docs/benchmarks.md ("Audit API") records the figures.
set -euo pipefail
SECS=${1:-5}
T=${CARGO_TARGET_DIR:-target}/release
PG_ADMIN=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
WORK=$(mktemp -d)
KEY="bench:read+write:$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
PORT=18090
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

pg_schema() { # fresh schema per run so every run starts from an empty table
  local s="bench_$(date +%s%N)"
  psql "$PG_ADMIN" -qc "CREATE SCHEMA $s" >/dev/null
  echo "$PG_ADMIN?options=-c%20search_path%3D$s"
}

serve() { # $1 = DATABASE_URL, $2 = sqlite synchronous
  DATABASE_URL="$1" API_SQLITE_SYNCHRONOUS="$2" API_BIND="127.0.0.1:$PORT" API_KEYS="$KEY" \
  API_RATE_IP_PER_SEC=1000000 API_RATE_IP_BURST=1000000 API_RATE_KEY_PER_SEC=1000000 \
  API_RATE_KEY_BURST=1000000 API_DB_MAX_CONNECTIONS=16 RUST_LOG=info \
    "$T/economy-api" 2>>"$WORK/server.log" &
  SERVER=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && return; sleep 0.1; done
  echo "server did not start" >&2; exit 1
}
stop() { kill -TERM "$SERVER"; wait "$SERVER" || true; }
load() { echo "# $*" >&2; LOADGEN_KEY="$KEY" "$T/loadgen" http --url "http://127.0.0.1:$PORT" --duration "$SECS" "$@"; }

for SYNC in full normal; do
  echo "## SQLite synchronous=$SYNC" >&2
  "$T/loadgen" raw --database-url "sqlite://$WORK/raw-$SYNC.db" --sync $SYNC --rows 1 --duration "$SECS"
  "$T/loadgen" raw --database-url "sqlite://$WORK/raw-$SYNC.db" --sync $SYNC --rows 50 --duration "$SECS"
  "$T/loadgen" raw --database-url "sqlite://$WORK/raw-$SYNC.db" --sync $SYNC --rows 50 --json --duration "$SECS"
  serve "sqlite://$WORK/api-$SYNC.db" $SYNC
  load --batch 1 --concurrency 1
  load --batch 1 --concurrency 64
  load --batch 50 --concurrency 8
  load --batch 50 --concurrency 32
  load --batch 50 --concurrency 64
  # Open loop last: when the server falls behind, the requests the generator gave up on are still
  # queued in the server and would slow the next run down.
  load --batch 1 --rate 4000 --concurrency 4000
  stop
done

echo "## PostgreSQL" >&2
"$T/loadgen" raw --database-url "$(pg_schema)" --rows 1 --clients 1 --duration "$SECS"
"$T/loadgen" raw --database-url "$(pg_schema)" --rows 1 --clients 16 --duration "$SECS"
"$T/loadgen" raw --database-url "$(pg_schema)" --rows 50 --clients 4 --duration "$SECS"
serve "$(pg_schema)" full
load --batch 1 --concurrency 1
load --batch 1 --concurrency 64
load --batch 50 --concurrency 8
load --batch 50 --concurrency 32
load --batch 50 --concurrency 64
load --batch 1 --rate 4000 --concurrency 4000
stop
psql "$PG_ADMIN" -qAtc "SELECT 'DROP SCHEMA ' || nspname || ' CASCADE;' FROM pg_namespace WHERE nspname LIKE 'bench\_%'" | psql "$PG_ADMIN" -q >/dev/null
