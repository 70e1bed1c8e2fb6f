#!/usr/bin/env bash
# bench/gen-apps.sh SINGLE_DIR WIDE_DIR: writes the two cairn apps of issue
# 3's benchmark (bench/run.sh builds them with `cairn build`).
#
#   single: app/api/hello/route.c (App Router route handler, nonblocking) and
#           pages/api/hello2.c (Pages API), both answering {"message":"Hello"}.
#   wide:   the same two routes, pages/api/hello3.c (hello2 marked
#           nonblocking, a diagnostic line), about 500 others of mixed shapes (static,
#           [param], [...catch-all] and [[...optional]] segments under
#           several prefixes, in app/ and pages/api/, so the tree has depth,
#           static/dynamic siblings and catch-alls next to the bench routes)
#           and a middleware.c on /api/:path* that passes every request on.
#
# The filler routes answer small JSON built from their params, like a real
# API; they are never requested by the bench, only matched past.
# Prints "single N" and "wide N" (route files written) on stdout.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 SINGLE_DIR WIDE_DIR" >&2; exit 2; }

hello_routes() { # dir: the two routes the bench requests
  mkdir -p "$1/app/api/hello" "$1/pages/api"
  cat >"$1/app/api/hello/route.c" <<'EOF'
/* GET /api/hello: App Router route handler, on the I/O thread. */
#include <cairn.h>

static int hello(cn_req *req, cn_res *res) {
  (void)req;
  cn_res_header(res, "Content-Type", "application/json");
  return cn_res_send(res, "{\"message\":\"Hello\"}", 19);
}

CN_ROUTE(.GET = hello, .config = {.nonblocking = 1});
EOF
  cat >"$1/pages/api/hello2.c" <<'EOF'
/* /api/hello2: Pages API route, one handler for every method. */
#include <cairn.h>

static int hello2(cn_req *req, cn_res *res) {
  (void)req;
  cn_res_header(res, "Content-Type", "application/json");
  return cn_res_send(res, "{\"message\":\"Hello\"}", 19);
}

CN_ROUTE(.handler = hello2);
EOF
  echo '{"access_log": false}' >"$1/cairn.json"
}

N=0
# route dir-under-app shape: shape is static | param NAME | all NAME
app_route() {
  local dir=$1 shape=$2 name=${3:-} body
  mkdir -p "$W/app/$dir"
  case $shape in
    static) body='json_t *b = json_pack("{s:s}", "route", ROUTE);' ;;
    param) body="cn_str v = cn_req_param(req, \"$name\");
  json_t *b = json_pack(\"{s:s,s:s%}\", \"route\", ROUTE, \"$name\", v.ptr, v.len);" ;;
    all) body="const cn_str *parts;
  size_t n = cn_req_param_all(req, \"$name\", &parts);
  json_t *b = json_pack(\"{s:s,s:i}\", \"route\", ROUTE, \"segments\", (json_int_t)n);
  (void)parts;" ;;
  esac
  cat >"$W/app/$dir/route.c" <<EOF
#include <cairn.h>
#define ROUTE "/$dir"

static int get(cn_req *req, cn_res *res) {
  (void)req;
  $body
  int rc = cn_res_json(res, 200, b);
  json_decref(b);
  return rc;
}

static int post(cn_req *req, cn_res *res) {
  (void)req;
  cn_res_status(res, 201);
  return cn_res_send(res, "", 0);
}

CN_ROUTE(.GET = get, .POST = post, .config = {.nonblocking = 1});
EOF
  N=$((N + 1))
}
pages_route() { # file-under-pages/api (without .c)
  mkdir -p "$(dirname "$W/pages/api/$1")"
  cat >"$W/pages/api/$1.c" <<EOF
#include <cairn.h>

static int handler(cn_req *req, cn_res *res) {
  cn_str m = cn_req_method(req);
  json_t *b = json_pack("{s:s,s:s%}", "route", "/api/$1", "method", m.ptr, m.len);
  int rc = cn_res_json(res, 200, b);
  json_decref(b);
  return rc;
}

CN_ROUTE(.handler = handler);
EOF
  N=$((N + 1))
}

S=$1 W=$2
mkdir -p "$S" "$W"
hello_routes "$S"
echo "single 2"
hello_routes "$W"
# Not a target: the same Pages API route marked nonblocking, so the report
# can tell the handler-thread hop from the routing cost.
cat >"$W/pages/api/hello3.c" <<'EOF'
/* /api/hello3: /api/hello2 marked nonblocking (runs on the I/O thread). */
#include <cairn.h>

static int hello3(cn_req *req, cn_res *res) {
  (void)req;
  cn_res_header(res, "Content-Type", "application/json");
  return cn_res_send(res, "{\"message\":\"Hello\"}", 19);
}

CN_ROUTE(.handler = hello3, .config = {.nonblocking = 1});
EOF
N=3

# /api/v1..v4/<resource>: list, search, [id], [id]/<sub>, export/[...path].
for v in v1 v2 v3 v4; do
  for r in users orders products invoices teams projects tickets reviews carts coupons; do
    a=api/$v/$r
    app_route "$a" static
    app_route "$a/search" static
    app_route "$a/[id]" param id
    app_route "$a/[id]/history" param id
    app_route "$a/[id]/comments" param id
    app_route "$a/[id]/comments/[commentId]" param commentId
    app_route "$a/export/[...path]" all path
  done
  app_route "api/$v/files/[...path]" all path
  app_route "api/$v/health" static
done
# Siblings of the bench routes, one level down from /api.
for s in hello-world hellos status version config session login logout signup me \
  webhooks/stripe webhooks/github webhooks/slack auth/callback auth/refresh; do
  app_route "api/$s" static
done
app_route "api/search/[[...query]]" all query
app_route "api/proxy/[service]/[...rest]" all rest
# Pages API routes (legacy API): /api/legacy/<resource>, [id], [id]/<sub>.
for r in accounts payments shipments refunds notes events widgets reports; do
  pages_route "legacy/$r"
  pages_route "legacy/$r/[id]"
  pages_route "legacy/$r/[id]/audit"
  pages_route "legacy/$r/bulk/[...ids]"
done
pages_route "legacy/[...rest]"
pages_route "cron/[job]"
# Non-API routes: content sections with slugs and catch-alls.
for sec in blog news guides changelog careers; do
  app_route "$sec" static
  app_route "$sec/[slug]" param slug
  app_route "$sec/tag/[tag]" param tag
  app_route "$sec/[slug]/amp" param slug
done
for d in docs help learn reference; do
  app_route "$d" static
  app_route "$d/[...slug]" all slug
  for l in en fr de ja; do
    app_route "$l/$d/[...slug]" all slug
  done
done
for c in shoes shirts hats bags watches; do
  app_route "shop/$c" static
  app_route "shop/$c/[sku]" param sku
  app_route "shop/$c/[sku]/reviews" param sku
  app_route "shop/$c/sale/[[...filters]]" all filters
done
for t in $(seq 1 47); do
  app_route "org/t$t/[member]" param member
  app_route "org/t$t/settings" static
done

cat >"$W/middleware.c" <<'EOF'
/* Passes every /api request on untouched: what the bench measures is the
 * cost of matching and running a middleware that does nothing. */
#include <cairn.h>

static int middleware(cn_req *req, cn_res *res) {
  (void)req;
  (void)res;
  return 0;
}

CN_MIDDLEWARE(.handler = middleware, .matcher = {"/api/:path*"},
              .nonblocking = 1);
EOF
echo "wide $N"
