#!/bin/sh
# Make sure Debian's Chromium and chromedriver are present; install them when we may.
set -e
have() { command -v "$1" >/dev/null 2>&1; }
if { have chromium || [ -n "$CHROME_BINARY" ]; } && { have chromedriver || [ -n "$CHROMEDRIVER" ]; }; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && have apt-get; then
  echo "Installing Debian's chromium and chromium-driver..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver >/dev/null
  exit 0
fi
echo "Chromium and chromedriver are missing. Install them, e.g. on Debian/Ubuntu:" >&2
echo "    sudo apt-get install chromium chromium-driver" >&2
echo "or set CHROME_BINARY and CHROMEDRIVER to their paths." >&2
exit 1
