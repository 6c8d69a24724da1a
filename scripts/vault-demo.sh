#!/usr/bin/env bash
# The ulo vault demo, end to end on loopback: starts ulo, the vault and the demo app; ulo
# provisions Ada and Grace to the vault by SCIM; Ada signs in to the vault through ulo, reveals
# a shared password and signs in to the demo app with it; ulo clears her sessions with
# Universal Logout; the script prints ulo's receipt and what changed.
#
# Needs curl, jq, python3 and the ulo binary (cargo build -p ulo-cli; or set ULO_BIN).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${ULO_BIN:-target/debug/ulo}
[ -x "$bin" ] || { echo "build ulo first: cargo build -p ulo-cli (or set ULO_BIN)" >&2; exit 1; }
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ULO="http://127.0.0.1:$(free_port)"
VAULT="http://127.0.0.1:$(free_port)"
DEMO="http://127.0.0.1:$(free_port)"
T="ulo_demo_$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
VAULT_ADMIN="vault_admin_$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
VAULT_SCIM="vault_scim_$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
CONNECTOR_SECRET="connector_$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
INITIAL="initial-Passw0rd-for-the-team"
PASSWORD="correct horse battery staple"

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# Waits until the command succeeds (at most 30 s).
wait_until() {
    for _ in $(seq 1 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "gave up waiting for: $*" >&2; exit 1
}
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ulo() { curl -fsS -H "Authorization: SSWS $T" -H 'Content-Type: application/json' "$@"; }
vault() { curl -fsS -H "Authorization: Bearer $VAULT_ADMIN" -H 'Content-Type: application/json' "$@"; }

step "Start ulo at $ULO"
ULO_BOOTSTRAP_TOKEN="$T" ULO_OUTBOUND_ALLOW_HTTP_LOOPBACK=1 \
    "$bin" serve --listen "${ULO#http://}" --data-dir "$work/ulo" >"$work/ulo.log" 2>&1 &
pids+=($!)
wait_until curl -fsS "$ULO/health"

step "Register the vault at ulo: OIDC sign-in, Universal Logout (iss_sub), SCIM provisioning"
app=$(ulo -X POST "$ULO/api/v1/apps" -d "{
  \"label\": \"Vault\", \"type\": \"oidc\",
  \"oidc\": {\"redirectUris\": [\"$VAULT/oidc/callback\"], \"tokenEndpointAuthMethod\": \"client_secret_basic\"},
  \"logout\": {\"enabled\": true, \"protocol\": \"global-token-revocation\",
             \"endpoint\": \"$VAULT/global-token-revocation\", \"subjectFormat\": \"iss_sub\"},
  \"provisioning\": {\"scim\": {\"baseUrl\": \"$VAULT/scim/v2\", \"token\": \"$VAULT_SCIM\"}}}")
AID=$(jq -r .id <<<"$app")
echo "ulo app $AID, client id $(jq -r .oidc.clientId <<<"$app")"

step "Start the vault at $VAULT and the demo app at $DEMO"
ULO_VAULT_ADMIN_TOKEN="$VAULT_ADMIN" ULO_VAULT_SCIM_TOKEN="$VAULT_SCIM" ULO_OUTBOUND_ALLOW_HTTP_LOOPBACK=1 \
ULO_VAULT_CLIENT_ID=$(jq -r .oidc.clientId <<<"$app") ULO_VAULT_CLIENT_SECRET=$(jq -r .oidc.clientSecret <<<"$app") \
    "$bin" vault serve --listen "${VAULT#http://}" --data-dir "$work/vault" --idp-issuer "$ULO" >"$work/vault.log" 2>&1 &
pids+=($!)
"$bin" vault demo-app --listen "${DEMO#http://}" --connector-secret "$CONNECTOR_SECRET" \
    --account "team-social:$INITIAL" >"$work/demo.log" 2>&1 &
pids+=($!)
wait_until curl -fsS "$VAULT/health"
wait_until curl -fsS "$DEMO/"

step "People at ulo, assigned to the vault: ulo provisions them by SCIM"
person() {
    ulo -X POST "$ULO/api/v1/users?activate=true" -d "{\"profile\": {\"login\": \"$1\", \"email\": \"$1\",
      \"firstName\": \"$2\", \"lastName\": \"Example\"}, \"credentials\": {\"password\": {\"value\": \"$PASSWORD\"}}}" | jq -r .id
}
ADA=$(person ada@example.com Ada)
GRACE=$(person grace@example.com Grace)
for u in "$ADA" "$GRACE"; do
    ulo -X POST "$ULO/api/v1/apps/$AID/users" -d "{\"id\": \"$u\"}" >/dev/null
    synced() { ulo "$ULO/api/v1/apps/$AID/users/$1" | jq -e '.provisioning.state == "SYNCED"'; }
    wait_until synced "$u"
done
vault "$VAULT/api/people" | jq -c '.[] | {userName, externalId, provisionedBy}'

step "The vault admin adds the demo app and a shared account, shared with Ada and Grace"
DAPP=$(vault -X POST "$VAULT/api/apps" -d "{\"name\": \"Demo app\", \"signInUrl\": \"$DEMO/\",
  \"connector\": {\"type\": \"http\", \"url\": \"$DEMO/connector\", \"secret\": \"$CONNECTOR_SECRET\"}}" | jq -r .id)
ACC=$(vault -X POST "$VAULT/api/accounts" -d "{\"appId\": \"$DAPP\", \"username\": \"team-social\",
  \"password\": \"$INITIAL\", \"policy\": {\"length\": 24}}" | jq -r .id)
vault -X PUT "$VAULT/api/accounts/$ACC/shares/ada@example.com"
vault -X PUT "$VAULT/api/accounts/$ACC/shares/grace@example.com"
vault "$VAULT/api/accounts/$ACC" | jq -c '{id, username, status, shares: [.shares[].userName]}'

# Signs $1 in to the vault through ulo's sign-in form, with the cookie jar $2: opens the form
# (which sets the cookie its token is bound to) and posts it as a browser would.
sign_in() {
    local page at return_to csrf
    page=$(curl -fsS -L -c "$2" -b "$2" -w '\n%{url_effective}' "$VAULT/login")
    at=$(printf '%s\n' "$page" | tail -n 1)
    csrf=$(printf '%s\n' "$page" | grep -o 'name="csrf" value="[^"]*"' | head -n 1 | sed 's/.*value="//; s/"$//')
    return_to=$(python3 -c 'import sys, urllib.parse as u; print(u.parse_qs(u.urlparse(sys.argv[1]).query)["return_to"][0])' "$at")
    curl -fsS -L -c "$2" -b "$2" -o /dev/null "$ULO/login" -H "Origin: $ULO" \
        --data-urlencode "username=$1" --data-urlencode "password=$PASSWORD" \
        --data-urlencode "return_to=$return_to" --data-urlencode "csrf=$csrf"
}

step "Ada signs in to the vault through ulo and reveals the password"
sign_in ada@example.com "$work/ada.jar"
curl -fsS -b "$work/ada.jar" "$VAULT/api/me/accounts" | jq -c '.[] | {app: .app.name, username, status}'
OLD=$(curl -fsS -b "$work/ada.jar" -H "Origin: $VAULT" -X POST "$VAULT/api/me/accounts/$ACC/reveal" | jq -r .password)
echo "revealed: $OLD"

step "Ada signs in to the demo app as team-social"
curl -fsS -c "$work/demo.jar" -o /dev/null "$DEMO/login" --data-urlencode username=team-social --data-urlencode "password=$OLD"
curl -fsS -b "$work/demo.jar" "$DEMO/me"; echo

step "ulo clears Ada's sessions, with Universal Logout"
LOGOUT=$(ulo -X DELETE "$ULO/api/v1/users/$ADA/sessions?oauthTokens=true&universalLogout=true" | jq -r .id)
done_() { ulo "$ULO/api/v1/logouts/$LOGOUT" | jq -e '.status != "IN_PROGRESS"'; }
wait_until done_
RECEIPT=$(ulo "$ULO/api/v1/logouts/$LOGOUT")
jq '{status, transactionId, targets: [.targets[] | {type, displayName, status, lastHttpStatus}]}' <<<"$RECEIPT"

step "What changed"
rotated() { vault "$VAULT/api/accounts/$ACC" | jq -e '.status == "OK" and .rotatedAt != null'; }
wait_until rotated
vault "$VAULT/api/accounts/$ACC" | jq -c '{status, rotatedAt}'
echo "Ada's vault session:        HTTP $(curl -s -o /dev/null -w '%{http_code}' -b "$work/ada.jar" "$VAULT/api/me/accounts")"
ended() { [ "$(curl -s -o /dev/null -w '%{http_code}' -b "$work/demo.jar" "$DEMO/me")" = 401 ]; }
wait_until ended
echo "her demo-app session:       HTTP $(curl -s -o /dev/null -w '%{http_code}' -b "$work/demo.jar" "$DEMO/me")"
echo "the old password:           HTTP $(curl -s -o /dev/null -w '%{http_code}' "$DEMO/login" --data-urlencode username=team-social --data-urlencode "password=$OLD")"
sign_in grace@example.com "$work/grace.jar"
NEW=$(curl -fsS -b "$work/grace.jar" -H "Origin: $VAULT" -X POST "$VAULT/api/me/accounts/$ACC/reveal" | jq -r .password)
echo "new password (Grace reveals it): $NEW"
echo "the new password:           HTTP $(curl -s -o /dev/null -w '%{http_code}' "$DEMO/login" --data-urlencode username=team-social --data-urlencode "password=$NEW") (303: signed in)"

step "Both logs, matched by the Universal Logout request's jti"
TX=$(jq -r .transactionId <<<"$RECEIPT")
JTI=$(ulo -G "$ULO/api/v1/logs" --data-urlencode "filter=eventType eq \"app.universal_logout.delivery\" and transaction.id eq \"$TX\"" \
    | jq -r '.[] | .debugContext.debugData.jti // empty' | head -1)
echo "ulo System Log, transaction $TX:"
ulo -G "$ULO/api/v1/logs" --data-urlencode "filter=transaction.id eq \"$TX\"" \
    | jq -r '.[] | "  \(.published)  \(.eventType)  \(.outcome.result)  \(.debugContext.debugData.jti // "")"'
echo "vault audit log, jti $JTI:"
vault -G "$VAULT/api/audit" --data-urlencode "filter=jti eq \"$JTI\"" \
    | jq -r '.[] | "  \(.published)  \(.type)  \(.outcome)  \(.target.displayName)"'
