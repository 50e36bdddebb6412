#!/usr/bin/env bash
# Installs the system packages pipelens needs on Debian/Ubuntu when run as root;
# otherwise says what to install. Idempotent: installs only what is missing.
#   clickhouse-server, clickhouse-client  the embedded default database and the benchmark baseline
#   chromium                              headless browser for the page tests
#   nodejs, npm                           maildev, the real SMTP server of the email end-to-end test
#   zookeeper (+ its Java runtime)        coordination of the replicated tables in the cluster test
#                                         (schemas/clustertest runs it as a child process; the package
#                                         starts no service)
# and, with npm, chdb@3.4.0 (current ClickHouse in process) for the parity test (parity/): under
# /opt/pipelens-chdb as root, else ~/.cache/pipelens-chdb, or $PIPELENS_CHDB_PREFIX;
# PIPELENS_SKIP_CHDB=1 leaves it out; and lighthouse@12 (npm), see below.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }
have clickhouse-server || have clickhouse || need+=(clickhouse-server)
have clickhouse-client || have clickhouse || need+=(clickhouse-client)
if [ "${PIPELENS_SKIP_BROWSER:-}" != "1" ]; then
  have chromium || need+=(chromium)
  # CJK glyphs for Chinese text in the page screenshots
  [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
fi
# node and npm run maildev, the real SMTP server of the alert email tests
have npm || need+=(nodejs npm)
# ZooKeeper for the cluster test (2 shards x 2 replicas); the package depends on a JRE
[ -e /usr/share/java/zookeeper.jar ] || need+=(zookeeper)
have java || need+=(default-jre-headless)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "installing: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "pipelens needs these Debian packages: ${need[*]}" >&2
    echo "install them with: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
fi
# chDB for the parity test: every answer on 18.16 against current ClickHouse (parity/).
# npm install from parity/package.json and its lock, into a fixed prefix, only when the
# pinned version is missing there. Off CI a failed install (no registry) only warns:
# the parity test then skips, and fails when CI=true.
if [ "${PIPELENS_SKIP_CHDB:-}" != "1" ]; then
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  if [ -n "${PIPELENS_CHDB_PREFIX:-}" ]; then
    chdb_prefix=$PIPELENS_CHDB_PREFIX
  elif [ "$(id -u)" = "0" ]; then
    chdb_prefix=/opt/pipelens-chdb
  else
    chdb_prefix=$HOME/.cache/pipelens-chdb
  fi
  want=$(sed -n 's/.*"chdb": *"\([^"]*\)".*/\1/p' "$repo/parity/package.json")
  have_chdb=$(node -p "require('$chdb_prefix/node_modules/chdb/package.json').version" 2>/dev/null || true)
  if [ "$have_chdb" != "$want" ] || ! ls "$chdb_prefix"/node_modules/@chdb/lib-*/libchdb.so >/dev/null 2>&1; then
    echo "installing chdb@$want (about 550 MB) under $chdb_prefix"
    mkdir -p "$chdb_prefix"
    cp "$repo/parity/package.json" "$repo/parity/package-lock.json" "$chdb_prefix/"
    if ! (cd "$chdb_prefix" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error); then
      echo "could not install chdb@$want under $chdb_prefix (npm install failed); the parity test needs it" >&2
      [ "${CI:-}" != "true" ] || exit 1
    fi
  fi
fi
# Lighthouse 12 (npm) for the page-quality test (dashboards/lighthouse_test.go) and
# deploy/lighthouse.sh; it drives the chromium above. Globally as root, else under
# ~/.cache/pipelens-lighthouse (add its bin to PATH). PIPELENS_SKIP_LIGHTHOUSE=1 (or
# PIPELENS_SKIP_BROWSER=1) leaves it out. Off CI a failed install only warns.
if [ "${PIPELENS_SKIP_LIGHTHOUSE:-}" != "1" ] && [ "${PIPELENS_SKIP_BROWSER:-}" != "1" ]; then
  lh_version=$(lighthouse --version 2>/dev/null || true)
  if [ "${lh_version%%.*}" != "12" ]; then
    echo "installing lighthouse@12"
    if [ "$(id -u)" = "0" ]; then
      lh_ok=$(npm install -g lighthouse@12 --no-audit --no-fund --loglevel=error >/dev/null && echo yes || true)
    else
      lh_ok=$(npm install --prefix "$HOME/.cache/pipelens-lighthouse" lighthouse@12 --no-audit --no-fund --loglevel=error >/dev/null && echo yes || true)
      [ -z "$lh_ok" ] || echo "lighthouse is in $HOME/.cache/pipelens-lighthouse/node_modules/.bin: add it to PATH"
    fi
    if [ -z "$lh_ok" ]; then
      echo "could not install lighthouse@12 (npm install failed); the Lighthouse test needs it" >&2
      [ "${CI:-}" != "true" ] || exit 1
    fi
  fi
fi
# The Debian package starts a system-wide server through systemd on some machines;
# pipelens runs its own private one and does not need it.
if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
  echo "pipelens needs Go 1.26 or newer (https://go.dev/dl/)" >&2
  exit 1
fi
