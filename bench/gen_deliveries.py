#!/usr/bin/env python3
"""Writes N pre-signed GitHub webhook deliveries for bench/ingest.lua, one a line, dealt
round-robin into THREADS files OUT_PREFIX.0 … OUT_PREFIX.{THREADS-1} (one per wrk thread, so
each thread loads only its own share).

Each line is `delivery-id TAB signature TAB body`: a unique `X-GitHub-Delivery` (a UUID), the
`X-Hub-Signature-256` value (`sha256=` + hex HMAC-SHA256 of the body, keyed by the secret) and
a compact JSON body shaped like a GitHub `issues` event. The body differs per delivery, so
every signature is different too.

The secret is read from the environment variable BENCH_GITHUB_SECRET, never from argv.
Standard library only.

Usage: BENCH_GITHUB_SECRET=... gen_deliveries.py COUNT THREADS OUT_PREFIX
"""

import hashlib
import hmac
import json
import os
import sys
import uuid


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    count, threads, prefix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    secret = os.environ.get("BENCH_GITHUB_SECRET", "").encode()
    if count < 1 or threads < 1 or not secret:
        print("gen_deliveries: need COUNT >= 1, THREADS >= 1, BENCH_GITHUB_SECRET", file=sys.stderr)
        return 2

    # A realistic, mid-sized payload (~700 bytes). `{n}` makes every body unique.
    template = {
        "action": "opened",
        "issue": {
            "id": 0,
            "number": 0,
            "title": "Benchmark issue",
            "state": "open",
            "html_url": "https://github.com/acme/widgets/issues/0",
            "user": {"login": "octocat", "id": 1, "type": "User"},
            "labels": [{"name": "bug"}, {"name": "customer"}],
            "body": "Steps to reproduce: run the benchmark. Expected: fast. Actual: measured.",
            "created_at": "2025-01-01T00:00:00Z",
            "updated_at": "2025-01-01T00:00:00Z",
        },
        "repository": {
            "id": 123456,
            "name": "widgets",
            "full_name": "acme/widgets",
            "private": True,
            "owner": {"login": "acme", "id": 42, "type": "Organization"},
        },
        "sender": {"login": "octocat", "id": 1, "type": "User"},
    }
    sha256 = hashlib.sha256
    files = [open(f"{prefix}.{t}", "w", encoding="utf-8", newline="\n") for t in range(threads)]
    try:
        for n in range(1, count + 1):
            issue = template["issue"]  # mutated in place: the template is reused
            issue["id"] = 9_000_000 + n
            issue["number"] = n
            issue["title"] = f"Benchmark issue {n}"
            issue["html_url"] = f"https://github.com/acme/widgets/issues/{n}"
            body = json.dumps(template, separators=(",", ":"))
            signature = hmac.new(secret, body.encode(), sha256).hexdigest()
            files[(n - 1) % threads].write(f"{uuid.uuid4()}\tsha256={signature}\t{body}\n")
    finally:
        for f in files:
            f.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
