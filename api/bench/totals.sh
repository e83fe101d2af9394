#!/usr/bin/env bash
# Totals endpoint benchmark: fills an audit log with ROWS signed records (a quarter of them staff
# movements by 20 actors, users spread over 10,000 ids) through the API, then times signed
# `GET /log/totals` queries on SQLite and PostgreSQL.
# Usage: api/bench/totals.sh [rows]   (default 1000000; binaries from $BIN, default target/release)
# Prints one JSON line per query; docs/benchmarks.md ("Audit API › Totals") records the figures.
set -euo pipefail
ROWS=${1:-1000000}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release}
PG_ADMIN=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
WORK=$(mktemp -d)
KEY="bench:read+write:$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
PORT=18091
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT

serve() { # $1 = DATABASE_URL
  DATABASE_URL="$1" API_BIND="127.0.0.1:$PORT" API_KEYS="$KEY" \
  API_RATE_IP_PER_SEC=1000000 API_RATE_IP_BURST=1000000 API_RATE_KEY_PER_SEC=1000000 \
  API_RATE_KEY_BURST=1000000 API_DB_MAX_CONNECTIONS=16 RUST_LOG=warn \
    "$BIN/economy-api" 2>>"$WORK/server.log" &
  SERVER=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && return; sleep 0.1; done
  echo "server did not start" >&2; exit 1
}
stop() { kill -TERM "$SERVER"; wait "$SERVER" || true; SERVER=; }
fill() { # $1 = a command printing the row count
  while [ "$($1)" -lt "$ROWS" ]; do
    LOADGEN_KEY="$KEY" "$BIN/loadgen" http --url "http://127.0.0.1:$PORT" --batch 50 \
      --concurrency 16 --duration 10 --actors 20 >/dev/null
  done
  echo "# rows: $($1)" >&2
}
q() { LOADGEN_KEY="$KEY" "$BIN/loadgen" totals --url "http://127.0.0.1:$PORT" --requests 10 --query "$1"; }
queries() { # $1 = appliedAt 10 s before the newest record
  q "groupBy=actor"
  q "groupBy=user"
  q "groupBy=actor&since=$1"
  q "groupBy=actor&userId=4242"
  q "groupBy=user&actor=100007"
}

echo "## SQLite" >&2
serve "sqlite://$WORK/totals.db"
sqlite_rows() { sqlite3 "$WORK/totals.db" "SELECT coalesce(max(seq), 0) FROM audit_log"; }
fill sqlite_rows
queries "$(sqlite3 "$WORK/totals.db" "SELECT max(applied_at) - 10000 FROM audit_log")"
stop

echo "## PostgreSQL" >&2
SCHEMA="bench_totals_$(date +%s%N)"
psql "$PG_ADMIN" -qc "CREATE SCHEMA $SCHEMA" >/dev/null
serve "$PG_ADMIN?options=-c%20search_path%3D$SCHEMA"
pg_rows() { psql "$PG_ADMIN" -Atc "SELECT coalesce(max(seq), 0) FROM $SCHEMA.audit_log"; }
fill pg_rows
queries "$(psql "$PG_ADMIN" -Atc "SELECT max(applied_at) - 10000 FROM $SCHEMA.audit_log")"
stop
psql "$PG_ADMIN" -qc "DROP SCHEMA $SCHEMA CASCADE" >/dev/null
