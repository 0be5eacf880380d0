#!/usr/bin/env bash
# Syntax-check the project's shell scripts (bash -n); shellcheck too when it is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
files=(scripts/*.sh .ci/run)
for f in "${files[@]}"; do bash -n "$f"; done
if command -v shellcheck >/dev/null 2>&1; then shellcheck -S warning "${files[@]}"; fi
echo "shell: ${#files[@]} scripts ok"
