#!/usr/bin/env bash
# Signed schemathesis run: starts economy-api on a temporary SQLite database with a random key,
# generates requests from its own OpenAPI document and fails on any 5xx, any response that does
# not match the document, any schema-allowed request the server refuses, and (negative data) any
# request the document forbids that the server accepts (hooks in tools/schemathesis_hooks.py sign
# every request as docs/protocol.md §5 says).
# Installs schemathesis into .cache/ when missing and fails loudly if it cannot.
# Env: ST_MAX_EXAMPLES (default 40 per operation), CARGO_TARGET_DIR.
# `--install-only`: install schemathesis and stop (.ci/run does this in the background while it
# builds).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=.cache/schemathesis-venv
if [[ ! -x "$VENV/bin/st" ]]; then
  echo "schemathesis: installing schemathesis 3.39.16 (with hypothesis 6.125.2, which it was released against) into $VENV" >&2
  if ! { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q schemathesis==3.39.16 hypothesis==6.125.2; }; then
    echo "schemathesis: FAILED to install schemathesis (python3-venv and pip needed)" >&2
    exit 1
  fi
fi
if [[ ${1:-} == --install-only ]]; then
  exit 0
fi

# With `-p sandbox` selected too, features unify as in the test build and `cargo run -p sandbox`
# (sandbox depends on every crate), so after .ci/run's build nothing is recompiled; `-p api`
# alone unifies differently and rebuilt much of the dependency tree.
cargo build -q --locked -p sandbox -p api --bin economy-api
BIN="${CARGO_TARGET_DIR:-target}/debug/economy-api"
tmp=$(mktemp -d)
key=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export API_KEYS="st:read+write:$key" DATABASE_URL="sqlite://$tmp/audit.db" API_BIND="127.0.0.1:$port"
export API_RATE_IP_PER_SEC=1000000 API_RATE_IP_BURST=1000000 API_RATE_KEY_PER_SEC=1000000 API_RATE_KEY_BURST=1000000
export RUST_LOG=warn
"$BIN" openapi > "$tmp/openapi.json"
"$BIN" > "$tmp/server.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 1 100); do
  if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/livez', timeout=1)" 2>/dev/null; then
    break
  fi
  sleep 0.1
done

# Two runs: schema-valid requests (each must be accepted and answered as documented) and
# schema-invalid ones (each must be refused). One `all` run splits its examples between the two
# and sent few invalid ones.
for method in positive negative; do
  echo "schemathesis: $method data" >&2
  ST_KEY_ID=st ST_KEY_HEX="$key" PYTHONPATH=tools SCHEMATHESIS_HOOKS=schemathesis_hooks \
    "$VENV/bin/st" run "$tmp/openapi.json" --base-url "http://127.0.0.1:$port" \
    --experimental=openapi-3.1 --data-generation-method "$method" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,schema_allowed_is_accepted,negative_data_rejection \
    --hypothesis-max-examples "${ST_MAX_EXAMPLES:-40}" --hypothesis-seed 16 \
    --generation-allow-x00 false --hypothesis-suppress-health-check=filter_too_much,too_slow --no-color
done
