#!/usr/bin/env bash
# bench/gen-apps.sh SINGLE_DIR WIDE_DIR [PAGES_DIR]: writes the cairn apps of
# issues 3 and 5's benchmarks (bench/run.sh builds them with `cairn build`).
#
#   single: app/api/hello/route.c (App Router route handler, nonblocking) and
#           pages/api/hello2.c (Pages API), both answering {"message":"Hello"}.
#   wide:   the same two routes, pages/api/hello3.c (hello2 marked
#           nonblocking, a diagnostic line), about 500 others of mixed shapes (static,
#           [param], [...catch-all] and [[...optional]] segments under
#           several prefixes, in app/ and pages/api/, so the tree has depth,
#           static/dynamic siblings and catch-alls next to the bench routes)
#           and a middleware.c on /api/:path* that passes every request on.
#   pages:  issue 5's pages, the same as bench/next-app.sh's Next.js app:
#           app/layout.html + layout.c (metadata), app/list/[n] (a loader
#           computing 20 items from n, .dynamic = 1: rendered per request
#           like Next's force-dynamic), app/about (static: rendered at
#           build), app/list-nb/[n] (the same list with .nonblocking = 1,
#           a diagnostic line) and the /api/hello route (the readiness probe).
#
# The filler routes answer small JSON built from their params, like a real
# API; they are never requested by the bench, only matched past.
# Prints "single N", "wide N" and "pages N" (route or page files written).
set -euo pipefail
[ $# -eq 2 ] || [ $# -eq 3 ] || { echo "usage: $0 SINGLE_DIR WIDE_DIR [PAGES_DIR]" >&2; exit 2; }

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

list_page() { # dir-under-app extra-config: the 20-item list page
  mkdir -p "$P/app/$1"
  # Compact like React's output: each <li> on one line, spans as Next's.
  cat >"$P/app/$1/page.html" <<'EOF'
<h1>Items for {{n}}</h1>
<ul class="items">
{{#items}}
<li><span class="name">{{name}}</span> <span class="price">{{price}}</span> <span class="desc">{{description}}</span></li>
{{/items}}
</ul>
EOF
  cat >"$P/app/$1/page.c" <<EOF
/* /$1: 20 items computed from the param n, rendered per request (Next's
 * force-dynamic). Item i of list n is the same as in bench/next-app.sh's
 * page.tsx: prices are whole cents so C and JavaScript agree to the byte. */
#include <cairn.h>
#include <stdio.h>

/* parseInt(n, 10) || 0, for the few digits a list number has. */
static long long parse_n(cn_str s) {
  size_t i = 0;
  int neg = s.len > 0 && s.ptr[0] == '-';
  long long v = 0;
  for (i = neg; i < s.len && i < 10 && s.ptr[i] >= '0' && s.ptr[i] <= '9'; i++)
    v = v * 10 + (s.ptr[i] - '0');
  return neg ? -v : v;
}

static int load(cn_req *req, json_t **props) {
  long long n = parse_n(cn_req_param(req, "n"));
  json_t *items = json_array();
  for (int i = 1; items && i <= 20; i++) {
    long long cents = (n * 7919 + i * 104729LL) % 100000 + 99;
    char name[48], price[32], desc[96];
    snprintf(name, sizeof name, "Item %lld-%d", n, i);
    snprintf(price, sizeof price, "\$%lld.%02lld", cents / 100, cents % 100);
    snprintf(desc, sizeof desc, "Entry %d of list %lld, computed for this request.", i, n);
    if (json_array_append_new(items, json_pack("{s:i,s:s,s:s,s:s}", "id", i, "name", name,
                                               "price", price, "description", desc))) {
      json_decref(items);
      return CN_ENOMEM;
    }
  }
  *props = items ? json_pack("{s:I,s:o}", "n", (json_int_t)n, "items", items) : NULL;
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load, .metadata = {.title = "List"}, .dynamic = 1$2);
EOF
}

pages_app() { # dir
  P=$1
  hello_routes "$P"
  cat >"$P/app/layout.html" <<'EOF'
<!DOCTYPE html>
<html lang="en">
<head></head>
<body>
<header><nav><a href="/">Home</a> <a href="/list/7">List</a> <a href="/about">About</a></nav></header>
<main>{{{children}}}</main>
</body>
</html>
EOF
  cat >"$P/app/layout.c" <<'EOF'
/* The root layout's metadata, as bench/next-app.sh's layout.tsx exports it. */
#include <cairn.h>

CN_LAYOUT(.metadata = {.title = "cairn bench",
                       .title_template = "%s | cairn bench",
                       .description = "The page issue 5 measures."});
EOF
  list_page "list/[n]" ""
  list_page "list-nb/[n]" ", .nonblocking = 1"
  mkdir -p "$P/app/about"
  cat >"$P/app/about/page.html" <<'EOF'
<h1>About this bench</h1>
<p>This page is static: it reads nothing from the request, so it is rendered once when the app is built and then served from memory.</p>
<p>The same page is written twice, once for Next.js as React server components and once for cairn as a Mustache template, so the two servers send the same markup.</p>
<p>nginx serves the bytes cairn sends as a plain file, which is the least work any server can do for this page.</p>
EOF
  cat >"$P/app/about/page.c" <<'EOF'
/* /about: metadata only; no loader reads the request, so it is static. */
#include <cairn.h>

CN_PAGE(.metadata = {.title = "About"});
EOF
  echo "pages 4"
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
[ $# -eq 3 ] && pages_app "$3"
exit 0
