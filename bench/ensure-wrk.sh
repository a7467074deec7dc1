#!/bin/sh
# Make sure wrk (the load generator of `make bench`) is present; install Debian's when we may.
# Without it the bench falls back to a slower thread-based generator, so this never fails the build.
have() { command -v "$1" >/dev/null 2>&1; }
if have wrk; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && have apt-get; then
  echo "Installing Debian's wrk..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } || true
  have wrk && exit 0
fi
echo "wrk is missing (sudo apt-get install wrk); the bench uses its slower Python load generator instead." >&2
exit 0
