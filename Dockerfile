# dualbook: the Python adapter and CLI (and later the HTTP service) with the Sqitch migrations, in one image.
# The image talks to an external PostgreSQL given by DATABASE_URL (the application role's URL); `deploy` runs as
# DUALBOOK_MIGRATOR_URL (docs/security.md). It does not run a database itself.
#
# Stage 1 builds the wheel from the repository (the migrations under sqitch.plan, deploy/, revert/, verify/ and
# the pgbench workloads become package data); stage 2 installs only that wheel. tests/python/test_wheel.py builds
# the same wheel, installs it in a fresh virtualenv and runs what this image runs.
FROM python:3.11-slim-bookworm AS build

WORKDIR /src
COPY pyproject.toml constraints.txt README.md sqitch.plan sqitch.conf ./
COPY deploy ./deploy
COPY revert ./revert
COPY verify ./verify
COPY sql ./sql
COPY pyadapter ./pyadapter
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# sqitch (+ its PostgreSQL driver) and psql deploy the schema; nothing else is needed at run time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends sqitch libdbd-pg-perl postgresql-client \
 && rm -rf /var/lib/apt/lists/*

COPY --from=build /wheels /wheels
COPY constraints.txt /tmp/constraints.txt
RUN pip install --no-cache-dir -c /tmp/constraints.txt "$(ls /wheels/dualbook-*.whl)[binary]" \
 && rm -rf /wheels /tmp/constraints.txt

RUN useradd --system --uid 10001 --user-group dualbook
USER 10001:10001
WORKDIR /home/dualbook

ENTRYPOINT ["dualbook"]
CMD ["--help"]
