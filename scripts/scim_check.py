"""Runs scim2-tester (an independent SCIM 2.0 compliance checker) against a running ulo.

Usage: python3 scripts/scim_check.py BASE_URL BEARER_TOKEN; exits 1 on any failed check.
"""

import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server


def main() -> int:
    base_url, token = sys.argv[1], sys.argv[2]
    http = Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"})
    client = SyncSCIMClient(http)
    client.discover()
    results = check_server(client, raise_exceptions=False)
    # ERROR and CRITICAL break the RFCs; DEVIATION and ACCEPTABLE are printed for a person.
    failed = [r for r in results if r.status in (Status.ERROR, Status.CRITICAL)]
    for r in results:
        line = f"{r.status.name:8} {r.resource_type or '-':6} {r.title}"
        print(line if r.status == Status.SUCCESS else f"{line}\n         reason: {r.reason}")
    print(f"{len(results)} checks, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
