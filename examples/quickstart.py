#!/usr/bin/env python3
"""ContextLite Cloud quickstart, standard library only.

Signs up a new tenant, uploads every text file of a folder with the bulk
endpoint, assembles context for a query and prints it.

    python3 quickstart.py BASE_URL CA_FILE FOLDER QUERY

BASE_URL is the service, e.g. https://localhost:8443 (the API key decides
the tenant, so the apex host serves the API too). CA_FILE is the root
certificate to trust, e.g. data/caddy/pki/authorities/local/root.crt for a
server on Caddy's local CA, or "-" for the system's trusted roots.

The new API key is printed on stderr; the assembled context on stdout.
"""

import argparse
import json
import os
import secrets
import ssl
import sys
import time
import urllib.error
import urllib.request

# Bulk requests stay well under the server's limits: 1,000 documents and
# 16 MiB a request, 1 MiB a document.
MAX_BATCH_DOCUMENTS = 500
MAX_BATCH_BYTES = 8 << 20
MAX_FILE_BYTES = 1 << 20
SKIPPED_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv"}


class APIError(Exception):
    """An error answer of the service."""

    def __init__(self, status, body):
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        self.status = status
        self.code = error.get("code", "")
        super().__init__(f"HTTP {status} {self.code}: {error.get('message', body)}")


def call(ctx, method, url, body=None, api_key=None, idempotency_key=None, attempts=4):
    """Send a JSON request and return the decoded JSON answer.

    With an idempotency key, rate-limited (429) and failed (5xx, network)
    requests are retried with the same key: the server runs the request at
    most once and replays its answer to the retries.
    """
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if api_key:
        headers["X-API-Key"] = api_key
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    for attempt in range(1, attempts + 1):
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=60) as resp:
                raw = resp.read()
                return json.loads(raw) if raw else {}
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                answer = json.loads(raw)
            except ValueError:
                answer = raw.decode(errors="replace")
            err = APIError(e.code, answer)
            retryable = e.code == 429 or e.code >= 500 or err.code == "idempotency_key_in_use"
            if not (idempotency_key and retryable) or attempt == attempts:
                raise err from None
            wait = e.headers.get("Retry-After", "")
            time.sleep(min(float(wait), 30) if wait.isdigit() else attempt)
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            if not idempotency_key or attempt == attempts:
                raise
            time.sleep(attempt)
    raise AssertionError("unreachable")


def text_files(folder):
    """Yield (relative path with '/', content) of each text file under folder."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for name in sorted(files):
            full = os.path.join(root, name)
            rel = os.path.relpath(full, folder).replace(os.sep, "/")
            if not os.path.isfile(full) or os.path.getsize(full) > MAX_FILE_BYTES:
                print(f"skipped {rel}: not a regular file or over 1 MiB", file=sys.stderr)
                continue
            with open(full, "rb") as f:
                raw = f.read()
            if b"\0" in raw:
                continue  # binary
            try:
                yield rel, raw.decode("utf-8")
            except UnicodeDecodeError:
                continue  # not UTF-8 text


def batches(files):
    """Group (path, content) pairs into bulk requests' document lists."""
    batch, size = [], 0
    for path, content in files:
        doc = {"path": path, "content": content}
        n = len(json.dumps(doc, ensure_ascii=False).encode())
        if batch and (len(batch) == MAX_BATCH_DOCUMENTS or size + n > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(doc)
        size += n
    if batch:
        yield batch


def items_of(answer, *names):
    """Return the first list among answer's fields names, or []."""
    if not isinstance(answer, dict):
        return []
    for name in names:
        value = answer.get(name)
        if isinstance(value, list):
            return value
    return []


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("base_url", help="the service, e.g. https://localhost:8443")
    parser.add_argument("ca_file", help='root certificate to trust, or "-" for the system roots')
    parser.add_argument("folder", help="folder whose text files are uploaded")
    parser.add_argument("query", help="what to assemble context for")
    parser.add_argument("--email", default="quickstart@example.com")
    parser.add_argument("--company", default="Quickstart " + secrets.token_hex(3))
    parser.add_argument("--max-tokens", type=int, default=4000)
    args = parser.parse_args()

    ctx = ssl.create_default_context(cafile=None if args.ca_file == "-" else args.ca_file)
    base = args.base_url.rstrip("/")

    signup = call(ctx, "POST", base + "/signup", {"email": args.email, "company": args.company})
    api_key = signup["api_key"]
    print(f"signed up; API key (shown once, keep it): {api_key}", file=sys.stderr)

    uploaded = failed = 0
    for docs in batches(text_files(args.folder)):
        answer = call(ctx, "POST", base + "/api/v1/documents/bulk", {"documents": docs},
                      api_key=api_key, idempotency_key=secrets.token_hex(16))
        errors = [r for r in items_of(answer, "results", "data") if isinstance(r, dict) and r.get("error")]
        for r in errors:
            index = r.get("index")
            path = docs[index]["path"] if isinstance(index, int) and 0 <= index < len(docs) else "?"
            print(f"not uploaded: {path}: {r['error']}", file=sys.stderr)
        failed += len(errors)
        uploaded += len(docs) - len(errors)
    print(f"uploaded {uploaded} files ({failed} refused) from {args.folder}", file=sys.stderr)

    answer = call(ctx, "POST", base + "/api/v1/context/assemble",
                  {"query": args.query, "max_tokens": args.max_tokens},
                  api_key=api_key, idempotency_key=secrets.token_hex(16))
    spans = items_of(answer, "documents", "data", "items")
    if not spans:
        print(f"no context found for {args.query!r}", file=sys.stderr)
    for span in spans:
        lines = ""
        if span.get("start_line") and span.get("end_line"):
            lines = f" (lines {span['start_line']}-{span['end_line']})"
        print(f"--- {span.get('path', '?')}{lines}")
        print(span.get("content", "").rstrip("\n"))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (APIError, urllib.error.URLError, OSError) as e:
        print(f"quickstart: {e}", file=sys.stderr)
        sys.exit(1)
