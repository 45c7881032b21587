#!/usr/bin/env bash
# Compile the hashed lock files from the ranges (requirements.in, requirements-dev.in).
#
#   ./scripts/lock.sh              keep the pinned versions that still satisfy the ranges
#   ./scripts/lock.sh --upgrade    move every pin to the newest version the ranges allow
#
# The locks are for CPython 3.11 on x86-64 Linux (the platform the app and CI run on);
# every distribution of each pinned version is hashed, so pip --require-hashes installs
# exactly what was reviewed.  Needs uv (python3 -m pip install uv).
set -euo pipefail
cd "$(dirname "$0")/.."
opts=(--generate-hashes --python-version 3.11 --python-platform x86_64-unknown-linux-gnu --no-header --quiet "$@")
python3 -m uv pip compile requirements.in -o requirements.txt "${opts[@]}"
python3 -m uv pip compile requirements-dev.in -c requirements.txt -o requirements-dev.txt "${opts[@]}"
for f in requirements.txt requirements-dev.txt; do
  src="${f%.txt}.in"
  { printf '# LOCK FILE: exact versions with hashes, compiled from %s by scripts/lock.sh\n' "$src"
    printf '# (CPython 3.11, x86-64 Linux).  Edit the ranges in %s, never this file.\n' "$src"
    grep -v '^# LOCK FILE\|^# (CPython 3.11\|^# Edit the ranges' "$f"; } > "$f.tmp" && mv "$f.tmp" "$f"
done
echo "wrote requirements.txt and requirements-dev.txt"
