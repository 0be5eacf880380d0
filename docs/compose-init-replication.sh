#!/usr/bin/env bash
# Run once by the postgres image when the primary's data directory is created (docs/compose.yaml): a replication
# role for the replica, and a pg_hba line letting it connect from the compose network.
set -euo pipefail
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" \
  -c "CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '${REPLICATION_PASSWORD}'"
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
