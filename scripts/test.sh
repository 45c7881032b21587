#!/usr/bin/env bash
# Install what the tests need and run every test (the README's test command).
#
#   ./scripts/test.sh            all tests, browser tests included
#   ./scripts/test.sh -k dates   any pytest arguments
#
# Browser tests use Debian's Chromium (apt-get install chromium); Playwright never
# downloads a browser.  Under CI=true a missing Chromium is an error, not a skip.
set -uo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use: chromium (+ a font) for the browser tests, strace for the
# test that the server makes no outbound connection.  One apt-get run for whatever is missing.
missing=()
if [ ! -x /usr/bin/chromium ] && ! command -v chromium >/dev/null 2>&1; then
  missing+=(chromium fonts-dejavu-core)
fi
command -v strace >/dev/null 2>&1 || missing+=(strace)
if [ "${#missing[@]}" -gt 0 ]; then
  sudo_=()
  [ "$(id -u)" = "0" ] || sudo_=(sudo)
  if [ "$(id -u)" = "0" ] || command -v sudo >/dev/null 2>&1; then
    echo "Installing Debian ${missing[*]} for the tests..."
    "${sudo_[@]}" apt-get update -qq &&
      "${sudo_[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "warning: not installed: ${missing[*]}; the browser / outbound-connection tests will be skipped" \
      "(apt-get install ${missing[*]})" >&2
  fi
fi

# the lock: exact versions with hashes (the ranges are in requirements-dev.in)
python3 -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt || exit 1

# the type check of dashboard/ (settings in pyproject.toml): a type error fails the run
python3 -m mypy || exit 1

python3 -m pytest "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
