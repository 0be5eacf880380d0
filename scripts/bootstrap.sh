#!/usr/bin/env bash
# Idempotent set-up: Debian packages (if missing) and the project's virtual environment.
# Run by `make setup`, and so by `make demo`, `make test` and `.ci/run`.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }

apt_updated=0
apt_update() {  # at most once per run, and only as root
  if [ "$apt_updated" = 0 ] && [ "$(id -u)" -eq 0 ]; then
    apt-get update -q >&2
    apt_updated=1
  fi
}

# --- PostgreSQL major version: read it, do not assume it -------------------------------------
# Sets MAJOR (no subshell, so apt_update's "once" holds).
detect_major() {
  MAJOR=${PG_MAJOR:-}
  [ -n "$MAJOR" ] && return
  for bin in /usr/lib/postgresql/*/bin/postgres; do
    [ -x "$bin" ] || continue
    MAJOR=$(basename "$(dirname "$(dirname "$bin")")")
  done
  if [ -z "$MAJOR" ] && command -v pg_config >/dev/null 2>&1; then
    MAJOR=$(pg_config --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
  fi
  if [ -z "$MAJOR" ] && command -v apt-cache >/dev/null 2>&1; then
    # nothing installed yet: the distribution's default server version (apt-cache needs fresh lists)
    apt_update
    MAJOR=$(apt-cache depends postgresql 2>/dev/null | sed -nE 's/.*Depends: postgresql-([0-9]+)$/\1/p' | head -1)
  fi
  MAJOR=${MAJOR:-15}
}

need_apt=()
detect_major
# wrk: the HTTP load generator of the service's benchmark (dualbook bench, point P6)
# pgbackrest: WAL archiving, base backups and point-in-time restore (dualbook db backup|restore)
pkgs=("postgresql-$MAJOR" "postgresql-$MAJOR-pgtap" "postgresql-$MAJOR-plpgsql-check"
      sqitch libdbd-pg-perl libtap-parser-sourcehandler-pgtap-perl wrk pgbackrest)
if [ -n "${DATABASE_URL:-}" ] && [ "${DUALBOOK_SKIP_SERVER_PKGS:-}" = 1 ]; then
  pkgs=(sqitch libdbd-pg-perl libtap-parser-sourcehandler-pgtap-perl wrk)
fi
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${pkgs[@]}"; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$st" = "install ok installed" ] || need_apt+=("$p")
  done
  if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "setup: missing Debian packages: ${need_apt[*]}" >&2
      echo "setup: run this once as root, then retry:" >&2
      echo "  sudo apt-get update && sudo apt-get install -y ${need_apt[*]}" >&2
      exit 1
    fi
    say "installing Debian packages: ${need_apt[*]}"
    apt_update
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_apt[@]}"
    # Re-read the major version in case the server was installed just now.
    OLD=$MAJOR
    detect_major
    NEW=$MAJOR
    if [ "$NEW" != "$OLD" ]; then
      say "server major is $NEW, installing its extensions too"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "postgresql-$NEW-pgtap" "postgresql-$NEW-plpgsql-check"
    fi
  fi
else
  for c in sqitch pg_prove wrk; do
    command -v "$c" >/dev/null 2>&1 || { echo "setup: '$c' is required (not a Debian system: install it yourself)" >&2; exit 1; }
  done
fi

# --- Python virtual environment ---------------------------------------------------------------
PY=${PYTHON:-python3}
stamp=.venv/.dualbook-installed
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PY" -m venv .venv
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing the dualbook package and its pinned dev dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -c constraints.txt -e '.[dev]'
  echo "$want" > "$stamp"
fi
say "ready (PostgreSQL $MAJOR, $(.venv/bin/python --version))"
