#!/usr/bin/env bash
# Installs the system packages pipelens needs on Debian/Ubuntu when run as root;
# otherwise says what to install. Idempotent: installs only what is missing.
#   clickhouse-server, clickhouse-client  the embedded default database and the benchmark baseline
#   chromium                              headless browser for the page tests
#   nodejs, npm                           maildev, the real SMTP server of the email end-to-end test
#   zookeeper (+ its Java runtime)        coordination of the replicated tables in the cluster test
#                                         (schemas/clustertest runs it as a child process; the package
#                                         starts no service)
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
# The Debian package starts a system-wide server through systemd on some machines;
# pipelens runs its own private one and does not need it.
if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
  echo "pipelens needs Go 1.26 or newer (https://go.dev/dl/)" >&2
  exit 1
fi
