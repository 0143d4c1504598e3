# syntax=docker/dockerfile:1
# Build: docker build --build-arg VERSION=$(git describe --always --dirty) -t contextlite .
#        (the first build takes a few minutes: it compiles Caddy and SQLite)
# Try it locally, with certificates from Caddy's local CA (its root is
# /data/caddy/pki/authorities/local/root.crt in the volume):
#        docker run -p 8443:8443 -v contextlite:/data contextlite
# Public domain, with publicly trusted certificates over ACME (Let's Encrypt,
# ZeroSSL): point example.com and *.example.com at the host, keep ports 80
# and 443 reachable for the ACME challenges, and give an email for the CA:
#        docker run -p 80:8080 -p 443:8443 -v contextlite:/data \
#          -e CONTEXTLITE_DOMAIN=example.com -e CONTEXTLITE_TLS=ops@example.com contextlite
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
# .dockerignore keeps local state (data/, backups, binaries) out of the context.
COPY . .
ARG VERSION=
RUN CONTEXTLITE_VERSION=$VERSION CONTEXTLITE_OUTPUT=/out/contextlite ./xcaddy.sh

FROM debian:bookworm-slim
# curl is for health checks (deploy/docker-compose.yml probes /health with it).
# /caddy-storage exists, owned by contextlite, so that a volume mounted
# there (CONTEXTLITE_STORAGE, the certificate storage a cluster's nodes
# share) starts out writable.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
	&& rm -rf /var/lib/apt/lists/* \
	&& useradd --system --uid 10001 --home-dir /data contextlite \
	&& mkdir -p /data /caddy-storage /etc/caddy && chown -R contextlite /data /caddy-storage
COPY --from=build /out/contextlite /usr/bin/contextlite
COPY Caddyfile /etc/caddy/Caddyfile
ENV CONTEXTLITE_DATA=/data XDG_CONFIG_HOME=/data/config
VOLUME /data
USER contextlite
EXPOSE 8080 8443
ENTRYPOINT ["contextlite"]
CMD ["run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
