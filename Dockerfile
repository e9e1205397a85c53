# certsvc container image: slim, non-root, healthy only when /readyz says so.
#   docker build -t certsvc .                   # the service (serve, scheduler, CLI)
#   docker build --target gateway -t certsvc-gateway .   # + nginx, for gateway-agent
# compose.yaml builds both and starts the whole stack.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY certsvc ./certsvc
COPY ca_adapters ./ca_adapters
COPY scheduler ./scheduler
RUN pip install --no-cache-dir --prefix=/install '.[postgres]'

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CERTSVC_HOME=/var/lib/certsvc
# postgresql-client: pg_dump/psql for `certsvc backup` and `certsvc restore` on PostgreSQL.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 certsvc \
    && useradd --system --uid 10001 --gid certsvc --home-dir /var/lib/certsvc certsvc \
    && install -d -o certsvc -g certsvc -m 0700 /var/lib/certsvc
COPY --from=build /install /usr/local
COPY deploy/docker/certsvc-entrypoint.sh /usr/local/bin/certsvc-entrypoint
USER certsvc:certsvc
WORKDIR /var/lib/certsvc
VOLUME ["/var/lib/certsvc"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["/usr/local/bin/certsvc-entrypoint"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]

FROM runtime AS gateway
USER root
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx openssl \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o certsvc -g certsvc -m 0700 /srv/gateway
COPY deploy/docker/gateway-entrypoint.sh /usr/local/bin/gateway-entrypoint
USER certsvc:certsvc
EXPOSE 8443
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://certsvc:8080/readyz', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["/usr/local/bin/gateway-entrypoint"]
CMD []
