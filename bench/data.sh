#!/usr/bin/env bash
# bench/data.sh BUILD TMPDIR PORT: issues 9 and 10's figures, on one app
# built here with `BUILD/cairn build` and run as its own .cairn/server
# ({"access_log": false}, durability normal: a commit survives kill -9).
# Prints markdown table rows (figure | cairn | peer | ratio | target |
# result) on stdout; progress on stderr. Called by bench/run.sh; runs alone
# too (ROUNDS, DURATION, CONNS as there).
#
#   query: POST /_cairn/query bench:page (20 rows of a 1,000-row table)
#          vs GET /api/hello (the plain JSON route) on the same server
#   mutations: POST /_cairn/mutation bench:write (one INSERT each, group
#          commit) from CONNS (64) connections
#   fan-out: 1,000 WebSocket subscribers of bench:feed; 50 mutations change
#          it; time from each mutation's answer to each subscriber's update
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:?usage: bench/data.sh BUILD TMPDIR PORT}
T=${2:?}
PORT=${3:?}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
FANOUT_SUBS=${FANOUT_SUBS:-1000}
FANOUT_MUTATIONS=${FANOUT_MUTATIONS:-50}
say() { echo "bench: $*" >&2; }
calc() { awk "BEGIN {printf \"%.${2:-2}f\", $1}"; }
median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2];
  else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
verdict() { awk "BEGIN {exit !($1)}" && echo met || echo MISS; }

A=$T/data-app
rm -rf "$A"
mkdir -p "$A/app/api/hello" "$A/data/migrations"
cat >"$A/app/api/hello/route.c" <<'C'
/* GET /api/hello: the plain JSON route the query is compared with. */
#include <cairn.h>

static int hello(cn_req *req, cn_res *res) {
  (void)req;
  cn_res_header(res, "Content-Type", "application/json");
  return cn_res_send(res, "{\"message\":\"Hello\"}", 19);
}

CN_ROUTE(.GET = hello, .config = {.nonblocking = 1});
C
cat >"$A/data/migrations/001_bench.sql" <<'SQL'
CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price INTEGER NOT NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
INSERT INTO items SELECT i, 'Item ' || i, (i * 7919) % 10000 FROM n;
CREATE TABLE log (id INTEGER PRIMARY KEY, v INTEGER NOT NULL);
CREATE TABLE feed (id INTEGER PRIMARY KEY, v INTEGER NOT NULL);
SQL
cat >"$A/data/bench.c" <<'C'
#include <cairn.h>

static int page(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  return cn_db_all(cn_ctx_db(ctx), out,
                   "SELECT id, name, price FROM items ORDER BY id LIMIT 20",
                   CN_NOARGS);
}
static int write_(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)out;
  return cn_db_exec(cn_ctx_db(ctx), NULL, "INSERT INTO log (v) VALUES (?)",
                    CN_ARGS(cn_v_json(json_object_get(args, "v"))));
}
static int feed(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  return cn_db_one(cn_ctx_db(ctx), out,
                   "SELECT id, v FROM feed ORDER BY id DESC LIMIT 1",
                   CN_NOARGS);
}
static int push(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)out;
  return cn_db_exec(cn_ctx_db(ctx), NULL, "INSERT INTO feed (v) VALUES (?)",
                    CN_ARGS(cn_v_json(json_object_get(args, "v"))));
}
CN_DATA({.name = "page", .kind = CN_QUERY, .fn = page},
        {.name = "write", .kind = CN_MUTATION, .fn = write_,
         .args = {{.name = "v", .type = CN_T_INT}}},
        {.name = "feed", .kind = CN_QUERY, .fn = feed},
        {.name = "push", .kind = CN_MUTATION, .fn = push,
         .args = {{.name = "v", .type = CN_T_INT}}});
C
echo '{"access_log": false}' >"$A/cairn.json"
"$BUILD/cairn" build "$A" >"$T/build-data.log" 2>&1 || { say "cairn build of the data app failed: $(tail -3 "$T/build-data.log")"; exit 1; }

(cd "$A" && PORT=$PORT exec setsid ./.cairn/server >"$T/data-server.log" 2>&1) &
SRV=$!
trap 'kill -TERM -- -$SRV 2>/dev/null || true; wait $SRV 2>/dev/null || true' EXIT
for ((i = 0; i < 300; i++)); do
  curl -fs -o /dev/null "http://127.0.0.1:$PORT/api/hello" && break
  sleep 0.05
done
url=http://127.0.0.1:$PORT
Q='{"path":"bench:page","args":{}}'
W='{"path":"bench:write","args":{"v":1}}'
n=$(curl -fs -X POST -H 'content-type: application/json' -d "$Q" "$url/_cairn/query" | grep -o '"id":' | wc -l)
[ "$n" = 20 ] || { say "bench:page answered $n rows, not 20"; exit 1; }

wrk_rps() { # out-file url [body]: req/s, or dies on errors
  local out=$1 u=$2 body=${3:-}
  if [ -n "$body" ]; then wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -s bench/post.lua "$u" -- "$body" >"$out" 2>&1 || true
  else wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -s bench/report.lua "$u" >"$out" 2>&1 || true; fi
  grep -q '^BENCH ' "$out" || { say "wrk failed: $(tail -3 "$out")"; exit 1; }
  sed -n 's/^BENCH //p' "$out" | awk '{for (i = 1; i <= NF; i++) {split($i, a, "="); v[a[1]] = a[2]}
    if (v["errors"] + 0 > 0) {print "errors " v["errors"] > "/dev/stderr"; exit 1}
    printf "%.0f\n", v["requests"] / (v["duration_us"] / 1e6)}'
}
: >"$T/data-rps.tsv"
for ((r = 1; r <= ROUNDS; r++)); do
  say "data round $r/$ROUNDS: plain JSON, query of 20 rows, durable mutations (${DURATION}s each, $CONNS connections)"
  echo "json $(wrk_rps "$T/wrk-data-json-$r.txt" "$url/api/hello")" >>"$T/data-rps.tsv"
  echo "query $(wrk_rps "$T/wrk-data-query-$r.txt" "$url/_cairn/query" "$Q")" >>"$T/data-rps.tsv"
  echo "write $(wrk_rps "$T/wrk-data-write-$r.txt" "$url/_cairn/mutation" "$W")" >>"$T/data-rps.tsv"
  sleep 1
done
rps() { awk -v k="$1" '$1 == k {print $2}' "$T/data-rps.tsv" | median; }
JSON=$(rps json) QUERY=$(rps query) WRITE=$(rps write)

say "fan-out: $FANOUT_SUBS subscribers, $FANOUT_MUTATIONS mutations"
read -r P50 P99 MAX N < <(node bench/fanout.mjs "$PORT" "$FANOUT_SUBS" "$FANOUT_MUTATIONS")
r=$(calc "$QUERY / $JSON" 2)
echo "| query of 20 rows over HTTP vs the plain JSON route, same server, req/s (issue 9) | $(calc "$QUERY" 0) | $(calc "$JSON" 0) | ${r}× | ≥ 0.5× | $(verdict "$QUERY / $JSON >= 0.5") |"
echo "| durable mutations from $CONNS connections, per s (issue 9; kill -9 safe, group commit) | $(calc "$WRITE" 0) | - | - | ≥ 20000 | $(verdict "$WRITE >= 20000") |"
echo "| 1 mutation → $FANOUT_SUBS subscribers: p99 from its answer to each update, ms (issue 10; p50 $P50, max $MAX over $N updates) | $P99 ms | - | - | ≤ 50 ms | $(verdict "$P99 <= 50") |"
