# dualbook: the Python adapter, CLI (and later the HTTP service) plus the Sqitch migrations, in one image.
# The image talks to an external PostgreSQL given by DATABASE_URL (the application role's URL); `deploy` runs as
# DUALBOOK_MIGRATOR_URL (docs/security.md). It does not run a database itself.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DUALBOOK_PROJECT_DIR=/opt/dualbook

# sqitch (+ its PostgreSQL driver) and psql deploy the schema; nothing else is needed at run time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends sqitch libdbd-pg-perl postgresql-client \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/dualbook
COPY pyproject.toml constraints.txt README.md ./
COPY pyadapter ./pyadapter
RUN pip install --no-cache-dir -c constraints.txt .

COPY sqitch.conf sqitch.plan ./
COPY deploy ./deploy
COPY revert ./revert
COPY verify ./verify
COPY sql ./sql

RUN useradd --system --uid 10001 --user-group dualbook
USER 10001:10001

ENTRYPOINT ["dualbook"]
CMD ["--help"]
