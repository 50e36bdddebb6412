#!/usr/bin/env bash
# Lighthouse scores of pipelens's main pages, as the README reports them.
#
# Builds pipelens, starts `pipelens demo` (sample data in a private embedded
# ClickHouse) on a free port, signs in as the director, and runs Lighthouse
# (npm lighthouse@12 with Debian's chromium) on /, /funnel, /reps and
# /territories, on desktop (--preset=desktop) and mobile (Lighthouse's default:
# a mid-range phone, slow 4G and a 4x slower CPU, simulated). Prints a table of
# the four category scores; exits 1 when any page scores below 98 in
# accessibility or below 100 in best practices.
#
#   deploy/lighthouse.sh                 # all pages, both form factors
#   LH_PAGES="/ /reps" LH_FORMS=mobile deploy/lighthouse.sh
#   LH_URL=http://127.0.0.1:8080 LH_COOKIE='pipelens_session=...' deploy/lighthouse.sh   # a running server
# Reports (JSON) are kept under $LH_OUT (default artifacts/lighthouse).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pages=${LH_PAGES:-"/ /funnel /reps /territories"}
forms=${LH_FORMS:-"desktop mobile"}
out=${LH_OUT:-$repo/artifacts/lighthouse}
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
command -v lighthouse >/dev/null || { echo "lighthouse is not installed: npm install -g lighthouse@12 (deploy/install-deps.sh does)" >&2; exit 2; }
[ -x "$CHROME_PATH" ] || { echo "no chromium at $CHROME_PATH (apt-get install chromium)" >&2; exit 2; }
mkdir -p "$out"
tmp=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

base=${LH_URL:-}
cookie=${LH_COOKIE:-}
if [ -z "$base" ]; then
  export PATH=/usr/local/go/bin:$PATH
  (cd "$repo" && go build -o "$tmp/pipelens" ./cmd/pipelens)
  port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
  base=http://127.0.0.1:$port
  echo "starting pipelens demo on $base (${LH_OPPORTUNITIES:-12000} opportunities)" >&2
  PIPELENS_HOME=$tmp/home PIPELENS_CONFIG= PIPELENS_CLICKHOUSE_URL= \
    "$tmp/pipelens" demo --addr "127.0.0.1:$port" --opportunities "${LH_OPPORTUNITIES:-12000}" >"$tmp/demo.log" 2>&1 &
  server=$!
  for _ in $(seq 600); do
    curl -fsS -o /dev/null "$base/login" 2>/dev/null && break
    kill -0 "$server" 2>/dev/null || { cat "$tmp/demo.log" >&2; exit 1; }
    sleep 0.5
  done
fi
if [ -z "$cookie" ]; then
  jar=$tmp/cookies
  csrf=$(curl -fsS -c "$jar" "$base/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
  curl -fsS -b "$jar" -c "$jar" -o /dev/null --data-urlencode "csrf=$csrf" --data-urlencode "username=${LH_USER:-director}" \
    --data-urlencode "password=${LH_PASSWORD:-demo}" --data-urlencode "next=/" "$base/login"
  cookie=$(awk '$6 ~ /session/ {print $6"="$7}' "$jar" | head -1)
  [ -n "$cookie" ] || { echo "could not sign in as ${LH_USER:-director}" >&2; exit 1; }
fi
headers=$(node -e 'console.log(JSON.stringify({Cookie: process.argv[1]}))' "$cookie")
# Warm the server's page cache once, as a user's second visit would find it.
for p in $pages; do curl -fsS -o /dev/null -H "Cookie: $cookie" "$base$p"; done

fail=0
printf '%-13s %-8s %11s %13s %14s %5s\n' page form performance accessibility best-practices seo
for form in $forms; do
  for p in $pages; do
    name=$(echo "${p#/}" | tr '/' '_'); name=${name:-overview}
    json=$out/$name-$form.json
    preset=()
    [ "$form" = desktop ] && preset=(--preset=desktop)
    lighthouse "$base$p" "${preset[@]}" --quiet --output=json --output-path="$json" --extra-headers="$headers" \
      --chrome-flags="--headless=new --no-sandbox --disable-gpu" \
      --only-categories=performance,accessibility,best-practices,seo >/dev/null 2>"$tmp/lh.err" || { cat "$tmp/lh.err" >&2; fail=1; continue; }
    line=$(node -e '
      const r = require(process.argv[1]); const c = r.categories;
      const s = k => c[k] && c[k].score !== null ? Math.round(c[k].score * 100) : -1;
      const fails = [];
      for (const k of ["accessibility", "best-practices"]) for (const ref of c[k].auditRefs) {
        const a = r.audits[ref.id]; if (ref.weight > 0 && a.score !== null && a.score < 1) fails.push(k + ":" + ref.id);
      }
      console.log([s("performance"), s("accessibility"), s("best-practices"), s("seo"), fails.join(",")].join(" "));' "$json")
    read -r perf a11y bp seo fails <<<"$line"
    printf '%-13s %-8s %11s %13s %14s %5s %s\n' "$p" "$form" "$perf" "$a11y" "$bp" "$seo" "${fails:+ fails: $fails}"
    if [ "$a11y" -lt 98 ] || [ "$bp" -lt 100 ]; then fail=1; fi
  done
done
exit $fail
