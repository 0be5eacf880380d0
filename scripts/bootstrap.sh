#!/usr/bin/env bash
# Idempotent set-up: Debian packages (if missing) and the project's virtual environment.
# Run by `make setup`, and so by `make demo`, `make test` and `.ci/run`.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }

# --- PostgreSQL major version: read it, do not assume it -------------------------------------
pg_major() {
  local v
  if [ -n "${PG_MAJOR:-}" ]; then echo "$PG_MAJOR"; return; fi
  for bin in /usr/lib/postgresql/*/bin/postgres; do
    [ -x "$bin" ] || continue
    v=$(basename "$(dirname "$(dirname "$bin")")")
  done
  if [ -z "${v:-}" ] && command -v pg_config >/dev/null 2>&1; then
    v=$(pg_config --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
  fi
  if [ -z "${v:-}" ] && command -v apt-cache >/dev/null 2>&1; then
    # nothing installed yet: the distribution's default server version
    v=$(apt-cache depends postgresql 2>/dev/null | sed -nE 's/.*Depends: postgresql-([0-9]+)$/\1/p' | head -1)
  fi
  echo "${v:-15}"
}

need_apt=()
MAJOR=$(pg_major)
pkgs=("postgresql-$MAJOR" "postgresql-$MAJOR-pgtap" "postgresql-$MAJOR-plpgsql-check"
      sqitch libdbd-pg-perl libtap-parser-sourcehandler-pgtap-perl)
if [ -n "${DATABASE_URL:-}" ] && [ "${DUALBOOK_SKIP_SERVER_PKGS:-}" = 1 ]; then
  pkgs=(sqitch libdbd-pg-perl libtap-parser-sourcehandler-pgtap-perl)
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
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_apt[@]}"
    # Re-read the major version in case the server was installed just now.
    NEW=$(pg_major)
    if [ "$NEW" != "$MAJOR" ]; then
      say "server major is $NEW, installing its extensions too"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "postgresql-$NEW-pgtap" "postgresql-$NEW-plpgsql-check"
    fi
  fi
else
  for c in sqitch pg_prove; do
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
