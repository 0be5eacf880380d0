# dualbook: the ledger service (`dualbook serve`), the CLI and the Sqitch migrations, in one immutable image.
# The image talks to an external PostgreSQL: DATABASE_URL is the application role's URL; the same image runs
# `dualbook deploy` as DUALBOOK_MIGRATOR_URL for the gated migration step before each rollout (docs/deploy.md).
# It does not run a database itself.
#
# Stage 1 builds the wheel from the repository (the migrations under sqitch.plan, deploy/, revert/, verify/ and
# the pgbench workloads become package data); stage 2 installs only that wheel with its service extra, as a
# non-root user. tests/python/test_wheel.py builds the same wheel, installs it in a fresh virtualenv and runs what
# this image runs (deploy, serve, /readyz).
#
# The base is pinned by release (Python 3.11.11 on Debian 12); pin it by digest in your registry
# (FROM python:3.11.11-slim-bookworm@sha256:...) to make rebuilds byte-for-byte repeatable.
FROM python:3.11.11-slim-bookworm AS build

WORKDIR /src
COPY pyproject.toml constraints.txt README.md sqitch.plan sqitch.conf ./
COPY deploy ./deploy
COPY revert ./revert
COPY verify ./verify
COPY sql ./sql
COPY pyadapter ./pyadapter
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# sqitch (+ its PostgreSQL driver) and psql deploy the schema; nothing else is needed at run time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends sqitch libdbd-pg-perl postgresql-client \
 && rm -rf /var/lib/apt/lists/*

COPY --from=build /wheels /wheels
COPY constraints.txt /tmp/constraints.txt
RUN pip install --no-cache-dir -c /tmp/constraints.txt "$(ls /wheels/dualbook-*.whl)[service]" \
 && rm -rf /wheels /tmp/constraints.txt

RUN useradd --system --uid 10001 --user-group --create-home dualbook
USER 10001:10001
WORKDIR /home/dualbook

EXPOSE 8080
# /healthz: the process answers. Load balancers should route by /readyz (database and schema), see docs/deploy.md.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]

# `docker run IMAGE` serves; `docker run IMAGE deploy` runs the migrations (any other dualbook command likewise).
ENTRYPOINT ["dualbook"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
