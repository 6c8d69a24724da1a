#!/usr/bin/env python3
"""A tiny security events provider for trying ulo's Identity Threat Protection by hand.

    set-provider.py serve [--port 8900] [--key provider-key.pem]
        Serves the provider's JWKS at http://127.0.0.1:PORT/jwks (and an SSF configuration at
        /.well-known/ssf-configuration). The ES256 key is created in --key on first use.

    set-provider.py send --ulo http://127.0.0.1:8080 --email ada@example.com [--level HIGH]
                         [--port 8900] [--key provider-key.pem] [--event risk-level-change]
        Signs a Security Event Token with that key (header typ secevent+jwt, alg ES256, the key's
        kid; claims iss = http://127.0.0.1:PORT, aud = --ulo, iat, a fresh jti, sub_id as an
        RFC 9493 email identifier, one CAEP event) and POSTs it to
        ULO/security/api/v1/security-events. Prints ulo's answer; exits 0 on 202.

Needs Python 3 and the `cryptography` package (pip install cryptography).
"""

import argparse
import base64
import hashlib
import http.server
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid

try:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
except ImportError:
    sys.exit("set-provider.py needs the cryptography package: pip install cryptography")

CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
RISC = "https://schemas.openid.net/secevent/risc/event-type/"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def load_key(path: str) -> ec.EllipticCurvePrivateKey:
    """The provider's P-256 key: read from `path`, or created there (mode 0600)."""
    if os.path.exists(path):
        with open(path, "rb") as f:
            return serialization.load_pem_private_key(f.read(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return key


def public_jwk(key: ec.EllipticCurvePrivateKey) -> dict:
    nums = key.public_key().public_numbers()
    jwk = {
        "crv": "P-256",
        "kty": "EC",
        "x": b64(nums.x.to_bytes(32, "big")),
        "y": b64(nums.y.to_bytes(32, "big")),
    }
    # RFC 7638 thumbprint as the kid.
    canonical = json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()
    jwk["kid"] = b64(hashlib.sha256(canonical).digest())
    jwk["alg"] = "ES256"
    jwk["use"] = "sig"
    return jwk


def sign_set(key, jwk: dict, claims: dict) -> str:
    header = {"alg": "ES256", "kid": jwk["kid"], "typ": "secevent+jwt"}
    signing_input = (
        b64(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64(json.dumps(claims, separators=(",", ":")).encode())
    )
    der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return signing_input + "." + b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def issuer(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def serve(args) -> None:
    jwk = public_jwk(load_key(args.key))
    iss = issuer(args.port)
    documents = {
        "/jwks": {"keys": [jwk]},
        "/.well-known/ssf-configuration": {
            "spec_version": "1_0",
            "issuer": iss,
            "jwks_uri": f"{iss}/jwks",
            "delivery_methods_supported": ["urn:ietf:rfc:8935"],
        },
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            doc = documents.get(self.path)
            body = json.dumps(doc if doc is not None else {"error": "not found"}).encode()
            self.send_response(200 if doc is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *a):
            sys.stderr.write("set-provider: " + (fmt % a) + "\n")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"Provider {iss}: JWKS at {iss}/jwks (kid {jwk['kid']})", flush=True)
    server.serve_forever()


def event(kind: str, level: str) -> dict:
    if kind == "risk-level-change":
        return {CAEP + kind: {"principal": "USER", "current_level": level,
                              "previous_level": "LOW",
                              "reason_admin": {"en": "reported by set-provider.py"}}}
    if kind == "session-revoked":
        return {CAEP + kind: {"event_timestamp": int(time.time())}}
    if kind == "credential-compromise":
        return {RISC + kind: {"credential_type": "password"}}
    sys.exit(f"unknown --event {kind}")


def send(args) -> None:
    key = load_key(args.key)
    jwk = public_jwk(key)
    ulo = args.ulo.rstrip("/")
    claims = {
        "iss": issuer(args.port),
        "aud": ulo,
        "iat": int(time.time()),
        "jti": str(uuid.uuid4()),
        "sub_id": {"format": "email", "email": args.email},
        "events": event(args.event, args.level),
    }
    token = sign_set(key, jwk, claims)
    req = urllib.request.Request(
        f"{ulo}/security/api/v1/security-events",
        data=token.encode(),
        method="POST",
        headers={"Content-Type": "application/secevent+jwt"},
    )
    try:
        with urllib.request.urlopen(req) as resp:
            status, body = resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read().decode()
    print(f"{status} {body}".strip())
    print(f"jti {claims['jti']}", file=sys.stderr)
    sys.exit(0 if status == 202 else 1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("serve", "send"):
        s = sub.add_parser(name)
        s.add_argument("--port", type=int, default=8900, help="the JWKS server's port (its issuer)")
        s.add_argument("--key", default="provider-key.pem", help="the provider's ES256 key (PEM)")
        if name == "send":
            s.add_argument("--ulo", required=True, help="ulo's issuer, e.g. http://127.0.0.1:8080")
            s.add_argument("--email", required=True, help="the person the SET is about")
            s.add_argument("--level", default="HIGH", choices=["LOW", "MEDIUM", "HIGH"])
            s.add_argument("--event", default="risk-level-change",
                           choices=["risk-level-change", "session-revoked", "credential-compromise"])
    args = p.parse_args()
    serve(args) if args.cmd == "serve" else send(args)


if __name__ == "__main__":
    main()
