/*
 * The tree against a brute-force model of Next.js: routes sorted with the
 * comparator of sortable-routes.ts (segment by segment; shorter first;
 * static < [x] < [...x] < [[...x]]; statics by name), each turned into a
 * regular expression the way route-regex.ts does, and the first route whose
 * expression matches wins; params are read off that route. Random route sets
 * and random paths, with a fixed seed so a failure replays.
 *
 * The model shares no code with the router. Where cairn decides on purpose
 * (a path with an empty or dot segment matches nothing; every segment is
 * decoded before it is compared; a bad escape anywhere is CN_EPARSE) the
 * model applies the same rule before it looks at any route.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "router/router.h"

static uint64_t rng = 0x243F6A8885A308D3ull;
static unsigned rnd(unsigned n) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (unsigned)(rng % n);
}

/* ------------------------------------------------------------ the model */

enum { ST, PA, CA, OP }; /* static, [x], [...x], [[...x]] */

typedef struct mseg {
  int type;
  char name[16];
} mseg;

typedef struct mroute {
  char pattern[128];
  char source[32];
  mseg segs[8];
  size_t nsegs;
  regex_t re;
  int accepted;
} mroute;

static void parse_model(mroute *rt) {
  char buf[128];
  snprintf(buf, sizeof buf, "%s", rt->pattern);
  rt->nsegs = 0;
  for (char *tok = strtok(buf, "/"); tok; tok = strtok(NULL, "/")) {
    mseg *s = &rt->segs[rt->nsegs++];
    size_t len = strlen(tok);
    if (strncmp(tok, "[[...", 5) == 0) {
      s->type = OP;
      snprintf(s->name, sizeof s->name, "%.*s", (int)(len - 7), tok + 5);
    } else if (strncmp(tok, "[...", 4) == 0) {
      s->type = CA;
      snprintf(s->name, sizeof s->name, "%.*s", (int)(len - 5), tok + 4);
    } else if (tok[0] == '[') {
      s->type = PA;
      snprintf(s->name, sizeof s->name, "%.*s", (int)(len - 2), tok + 1);
    } else {
      s->type = ST;
      snprintf(s->name, sizeof s->name, "%s", tok);
    }
  }
}

/* sortable-routes.ts compareRouteSegments (names here are ASCII, where
 * localeCompare and code-unit order agree on lower-case-only names). */
static int model_cmp(const void *pa, const void *pb) {
  const mroute *a = *(const mroute *const *)pa, *b = *(const mroute *const *)pb;
  for (size_t i = 0;; i++) {
    if (i == a->nsegs || i == b->nsegs)
      return (int)a->nsegs - (int)b->nsegs;
    if (a->segs[i].type != b->segs[i].type)
      return a->segs[i].type - b->segs[i].type;
    int c = strcmp(a->segs[i].name, b->segs[i].name);
    if (c)
      return c;
  }
}

/* route-regex.ts: /text, /([^/]+?), /(.+?), (?:/(.+?))?, anchored, the
 * trailing slash already taken off by the caller. */
static void compile(mroute *rt) {
  char re[512] = "^";
  for (size_t i = 0; i < rt->nsegs; i++) {
    const mseg *s = &rt->segs[i];
    strcat(re, s->type == ST ? "/" : s->type == PA ? "/[^/]+"
               : s->type == CA ? "/.+" : "(/.+)?");
    if (s->type == ST)
      strcat(re, s->name); /* vocabulary has no regex metacharacters */
  }
  strcat(re, "$");
  if (regcomp(&rt->re, re, REG_EXTENDED | REG_NOSUB))
    abort();
}

static int hexv(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

typedef struct mpath {
  char dec[16][64]; /* decoded segments */
  size_t n;
  char joined[1200]; /* "/" + segments, a decoded '/' shown as \x01 */
  int trailing;
} mpath;

/* The request path in the model's terms: 0, CN_ENOENT or CN_EPARSE. The
 * generated paths only escape ASCII letters, '/', ' ' and "é" (C3 A9). */
static int prepare(const char *raw, mpath *p) {
  char buf[256];
  int noent = 0;
  memset(p, 0, sizeof *p);
  snprintf(buf, sizeof buf, "%s", raw);
  size_t len = strlen(buf);
  if (len > 1 && buf[len - 1] == '/') {
    p->trailing = 1;
    buf[--len] = '\0';
    if (len == 1)
      return CN_ENOENT;
  }
  if (len == 1)
    return 0;
  const char *s = buf + 1;
  for (;;) {
    const char *e = strchr(s, '/');
    size_t sl = e ? (size_t)(e - s) : strlen(s), d = 0;
    char *out = p->dec[p->n++];
    for (size_t i = 0; i < sl; i++) {
      if (s[i] != '%') {
        out[d++] = s[i];
        continue;
      }
      if (i + 2 >= sl || hexv(s[i + 1]) < 0 || hexv(s[i + 2]) < 0)
        return CN_EPARSE;
      int v = hexv(s[i + 1]) * 16 + hexv(s[i + 2]);
      if (v == 0xC3) { /* must be followed by %A9 in this vocabulary */
        if (strncmp(s + i + 3, "%A9", 3) && strncmp(s + i + 3, "%a9", 3))
          return CN_EPARSE;
        out[d++] = (char)0xC3;
        out[d++] = (char)0xA9;
        i += 5;
        continue;
      }
      if (v == 0 || v >= 0x80)
        return CN_EPARSE;
      out[d++] = (char)v;
      i += 2;
    }
    out[d] = '\0';
    if (!d || !strcmp(out, ".") || !strcmp(out, ".."))
      noent = 1;
    if (!e)
      break;
    s = e + 1;
  }
  for (size_t k = 0; k < p->n; k++) {
    strcat(p->joined, "/");
    size_t at = strlen(p->joined);
    strcat(p->joined, p->dec[k]);
    for (char *c = p->joined + at; *c; c++)
      if (*c == '/')
        *c = '\x01';
  }
  return noent ? CN_ENOENT : 0;
}

/* The expected answer: "rc pattern params" in the format of answer(). */
static void model_answer(mroute **sorted, size_t n, const char *raw,
                         char *out, size_t cap) {
  mpath p;
  int rc = prepare(raw, &p);
  const mroute *hit = NULL;
  for (size_t i = 0; !rc && i < n && !hit; i++)
    if (regexec(&sorted[i]->re, p.joined, 0, NULL, 0) == 0)
      hit = sorted[i];
  if (!rc && !hit)
    rc = CN_ENOENT;
  size_t w = (size_t)snprintf(out, cap, "%d %d %s", rc, p.trailing,
                              hit ? hit->pattern : "-");
  for (size_t i = 0; hit && i < hit->nsegs; i++) {
    const mseg *s = &hit->segs[i];
    if (s->type == ST || i >= p.n)
      continue;
    w += (size_t)snprintf(out + w, cap - w, " %s=%s", s->name,
                          s->type == PA ? "" : "[");
    size_t last = s->type == PA ? i + 1 : p.n;
    for (size_t j = i; j < last; j++)
      w += (size_t)snprintf(out + w, cap - w, "%s%s", j > i ? "," : "",
                            p.dec[j]);
    if (s->type != PA)
      w += (size_t)snprintf(out + w, cap - w, "]");
  }
}

/* The router's answer in the same format. */
static void answer(const cn__router *r, const char *raw, char *out,
                   size_t cap) {
  cn__arena arena;
  cn__route_match m;
  cn__arena_init(&arena, NULL, 0);
  int rc = cn__router_match(r, cn__cstr(raw), &arena, &m);
  size_t w = (size_t)snprintf(out, cap, "%d %d %s", rc, m.trailing_slash,
                              m.pattern ? m.pattern : "-");
  for (size_t i = 0; i < m.nparams; i++) {
    const cn__route_param *q = &m.params[i];
    w += (size_t)snprintf(out + w, cap - w, " %s=%s", q->name.ptr,
                          q->is_catchall ? "[" : "");
    for (size_t j = 0; j < q->nvalues; j++)
      w += (size_t)snprintf(out + w, cap - w, "%s%.*s", j ? "," : "",
                            (int)q->values[j].len, q->values[j].ptr);
    if (q->is_catchall)
      w += (size_t)snprintf(out + w, cap - w, "]");
  }
  cn__arena_destroy(&arena);
}

/* ------------------------------------------------------------ generator */

static const char *const statics[] = {"a", "b", "post", "create", "x"};
static const char *const path_words[] = {
    "a", "b", "post", "create", "x", "y", "A", "%61", "p%6Fst", "a%2Fb",
    "%C3%A9", "%20", "zz", "",   ".", "%2E", "%zz", "%C3", "%00", "%4",
};

static void gen_pattern(char *out, size_t cap) {
  size_t depth = rnd(5), w = 0;
  out[0] = '\0';
  for (size_t d = 0; d < depth; d++) {
    unsigned k = rnd(10);
    if (k < 6)
      w += (size_t)snprintf(out + w, cap - w, "/%s", statics[rnd(5)]);
    else if (k < 8)
      w += (size_t)snprintf(out + w, cap - w, "/[p%zu]", d);
    else {
      w += (size_t)snprintf(out + w, cap - w, k == 8 ? "/[...r%zu]"
                            : "/[[...o%zu]]", d);
      break;
    }
  }
  if (!w)
    snprintf(out, cap, "/");
}

static void gen_path(char *out, size_t cap) {
  size_t depth = rnd(6), w = 0;
  out[0] = '\0';
  for (size_t d = 0; d < depth; d++) {
    /* Mostly good words; the troublesome ones (last 6) now and then. */
    unsigned k = rnd(10) ? rnd(CN__ARRAY_LEN(path_words) - 6)
                         : rnd(CN__ARRAY_LEN(path_words));
    w += (size_t)snprintf(out + w, cap - w, "/%s", path_words[k]);
  }
  if (!w || rnd(6) == 0)
    snprintf(out + w, cap - w, "/");
}

static int collect(const cn__route_info *info, void *ud) {
  mroute **list = ud;
  mroute *rt = info->data;
  rt->accepted = 1;
  while (*list)
    list++;
  *list = rt;
  return 0;
}

TEST(tree_equals_sorted_regex_model) {
  size_t compared = 0, matched = 0, rejected = 0;
  for (int set = 0; set < 150; set++) {
    mroute routes[40];
    mroute *listed[41] = {0}, *sorted[40];
    size_t n = 10 + rnd(30), nacc = 0;
    char err[16384];
    cn__router *r = cn__router_new();
    for (size_t i = 0; i < n; i++) {
      memset(&routes[i], 0, sizeof routes[i]);
      gen_pattern(routes[i].pattern, sizeof routes[i].pattern);
      snprintf(routes[i].source, sizeof routes[i].source, "<f%02zu>", i);
      parse_model(&routes[i]);
      CHECK_EQ_INT(cn__router_add(r, routes[i].pattern, routes[i].source,
                                  &routes[i], err, sizeof err), 0);
    }
    int frc = cn__router_finish(r, err, sizeof err);
    CHECK_EQ_INT(cn__router_foreach(r, collect, listed), 0);
    /* Every route left out was reported, by its file, once per line. */
    size_t lines = frc ? 1 : 0;
    for (const char *c = err; frc && *c; c++)
      lines += *c == '\n';
    for (size_t i = 0; i < n; i++) {
      if (routes[i].accepted) {
        sorted[nacc++] = &routes[i];
        compile(&routes[i]);
      } else {
        rejected++;
        CHECK(strstr(err, routes[i].source) != NULL);
      }
    }
    CHECK_EQ_INT(lines, n - nacc);
    /* The listing is the model's sorted order. */
    qsort(sorted, nacc, sizeof *sorted, model_cmp);
    for (size_t i = 0; i < nacc; i++)
      CHECK(listed[i] == sorted[i]);
    for (int k = 0; k < 300; k++) {
      char path[256], want[1024], got[1024];
      gen_path(path, sizeof path);
      model_answer(sorted, nacc, path, want, sizeof want);
      answer(r, path, got, sizeof got);
      if (strcmp(want, got) != 0) {
        fprintf(stderr, "set %d path \"%s\"\n", set, path);
        for (size_t i = 0; i < nacc; i++)
          fprintf(stderr, "  %s\n", sorted[i]->pattern);
      }
      CHECK_EQ_STR(got, want);
      compared++;
      matched += want[0] == '0';
    }
    for (size_t i = 0; i < nacc; i++)
      regfree(&sorted[i]->re);
    cn__router_free(r);
  }
  printf("equivalence: %zu paths compared, %zu matched, %zu routes left out "
         "for conflicts\n", compared, matched, rejected);
  /* The generator must exercise both outcomes, or the test proves little. */
  CHECK(matched > compared / 10 && matched < compared * 9 / 10);
  CHECK(rejected > 0);
}

int main(void) {
  RUN(tree_equals_sorted_regex_model);
  return check_summary();
}
