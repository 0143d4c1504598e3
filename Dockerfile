# syntax=docker/dockerfile:1
# Build: docker build -t contextlite .
# Run:   docker run -p 443:8443 -v contextlite:/data -e CONTEXTLITE_DOMAIN=example.com contextlite
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CONTEXTLITE_OUTPUT=/out/contextlite ./xcaddy.sh

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
	&& rm -rf /var/lib/apt/lists/* \
	&& useradd --system --uid 10001 --home-dir /data contextlite \
	&& mkdir -p /data /etc/caddy && chown contextlite /data
COPY --from=build /out/contextlite /usr/bin/contextlite
COPY Caddyfile /etc/caddy/Caddyfile
ENV CONTEXTLITE_DATA=/data XDG_CONFIG_HOME=/data/config
VOLUME /data
USER contextlite
EXPOSE 8080 8443
ENTRYPOINT ["contextlite"]
CMD ["run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
