#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (never a downloaded browser). Install it when missing
# and we can; otherwise stop with a clear message.
set -euo pipefail
CHROMIUM=${COACHLOOP_CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
echo "Chromium is missing at $CHROMIUM: installing Debian's chromium package..." >&2
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null && command -v apt-get >/dev/null; then
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "ERROR: the browser tests need Debian's chromium package, and this user cannot install" >&2
  echo "       it. Run 'sudo apt-get install chromium' (or set COACHLOOP_CHROMIUM to a Chromium" >&2
  echo "       binary) and try again." >&2
  exit 1
fi
[ -x "$CHROMIUM" ] || { echo "ERROR: chromium installed but $CHROMIUM is not there" >&2; exit 1; }
