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

if [ ! -x /usr/bin/chromium ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    echo "Installing Debian chromium for the browser tests..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
  else
    echo "warning: Debian chromium is not installed; browser tests will be skipped (apt-get install chromium)" >&2
  fi
fi

# strace: the browser test that the server makes no outbound connection watches it.
if ! command -v strace >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace >/dev/null
  else
    echo "warning: strace is not installed; the outbound-connection test will be skipped (apt-get install strace)" >&2
  fi
fi

python3 -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt || exit 1

python3 -m pytest "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
