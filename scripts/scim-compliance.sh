#!/usr/bin/env bash
# Runs an independent SCIM 2.0 compliance checker (scim2-tester, pinned) against `ulo serve`.
# Needs the debug binary (cargo build -p ulo-cli). Fails when any check fails.
set -euo pipefail
cd "$(dirname "$0")/.."

pip install --quiet "scim2-tester==0.5.2" "scim2-client[httpx2]==0.13.2"

bin=target/debug/ulo
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
bootstrap="ulo_scim_$(python3 -c 'import secrets; print(secrets.token_hex(20))')"

ULO_BOOTSTRAP_TOKEN="$bootstrap" "$bin" serve --data-dir "$data" --listen "127.0.0.1:$port" >"$data/serve.log" 2>&1 &
pid=$!
cleanup() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -rf "$data"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
    curl -fsS "$base/.well-known/openid-configuration" >/dev/null 2>&1 && break
    sleep 0.1
done

token=$(curl -fsS -X POST "$base/api/v1/scim-credentials" \
    -H "Authorization: SSWS $bootstrap" -H 'Content-Type: application/json' \
    -d '{"name":"compliance"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

python3 scripts/scim_check.py "$base/scim/v2" "$token"
