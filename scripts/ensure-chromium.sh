#!/usr/bin/env bash
# Headless Chromium for the browser tests (Debian's chromium package).
# Installs it when we are root on a Debian-like machine; otherwise says how,
# and the browser tests skip with that reason (they fail instead under CI=true).
set -u
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then exit 0; fi
done
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null && exit 0
  echo "apt-get could not install chromium; browser tests will not run." >&2
  exit 0
fi
echo "Chromium not found: install it (e.g. 'sudo apt-get install chromium') to run the browser tests." >&2
exit 0
