#!/usr/bin/env bash
# Builds the contextlite binary with xcaddy: Caddy, caddy-ratelimit and the
# modules of this checkout. Extra arguments go to xcaddy, for example
#   ./xcaddy.sh --with github.com/caddy-dns/cloudflare@v0.2.4
# Output: ./contextlite (override with CONTEXTLITE_OUTPUT). The version
# /health reports is CONTEXTLITE_VERSION, else `git describe` of this
# checkout, else "devel". The first build takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")"

XCADDY_VERSION=v0.4.5
CADDY_VERSION=v2.11.9
MODULE=$(go list -m)

if ! command -v xcaddy >/dev/null 2>&1; then
	go install "github.com/caddyserver/xcaddy/cmd/xcaddy@${XCADDY_VERSION}"
	PATH="$(go env GOPATH)/bin:$PATH"
fi

VERSION=${CONTEXTLITE_VERSION:-$(git describe --tags --always --dirty 2>/dev/null || true)}
# xcaddy's default flags, plus the version.
export XCADDY_GO_BUILD_FLAGS="-trimpath -tags nobadger,nomysql,nopgx -ldflags '-w -s -X ${MODULE}/health.version=${VERSION:-devel}'"

exec xcaddy build "${CADDY_VERSION}" \
	--output "${CONTEXTLITE_OUTPUT:-./contextlite}" \
	--with github.com/mholt/caddy-ratelimit@v0.1.0 \
	--with "${MODULE}@v0.0.0=." \
	"$@"
