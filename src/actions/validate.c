/*
 * cn_validate: declarative form checks for actions and route handlers
 * (cairn.h). Each failing field gets one message, the first check it fails.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "server/server.h"

/* The field's value: a form field, else a string or number member of a JSON
 * body. OUT: buf holds a NUL-terminated copy (truncated at cap). Returns
 * 1 when present. */
static int field(cn_req *req, const char *name, char *buf, size_t cap) {
  cn_str v = cn_req_form(req, name);
  if (v.ptr) {
    snprintf(buf, cap, "%.*s", (int)v.len, v.ptr);
    return 1;
  }
  json_t *j = json_object_get(cn_req_json(req), name);
  if (json_is_string(j))
    snprintf(buf, cap, "%s", json_string_value(j));
  else if (json_is_integer(j))
    snprintf(buf, cap, "%lld", (long long)json_integer_value(j));
  else if (json_is_real(j))
    snprintf(buf, cap, "%.17g", json_real_value(j));
  else
    return 0;
  return 1;
}

/* "MIN..MAX" with either side optional. */
static int range(const char *s, size_t n, double *lo, double *hi) {
  char buf[64], *dots, *end;
  if (n >= sizeof buf)
    return CN_EINVAL;
  memcpy(buf, s, n);
  buf[n] = '\0';
  if (!(dots = strstr(buf, "..")))
    return CN_EINVAL;
  *dots = '\0';
  *lo = -INFINITY;
  *hi = INFINITY;
  if (buf[0] && (*lo = strtod(buf, &end), *end))
    return CN_EINVAL;
  if (dots[2] && (*hi = strtod(dots + 2, &end), *end))
    return CN_EINVAL;
  return 0;
}

static int email_ok(const char *v) {
  const char *at = strchr(v, '@');
  if (!at || at == v || strchr(at + 1, '@') || strpbrk(v, " \t\r\n<>\"(),;:"))
    return 0;
  const char *dot = strrchr(at + 1, '.');
  return dot && dot > at + 1 && dot[1] && strlen(v) <= 254;
}

static int url_ok(const char *v) {
  const char *p = !strncasecmp(v, "https://", 8)  ? v + 8
                  : !strncasecmp(v, "http://", 7) ? v + 7
                                                  : NULL;
  return p && *p && *p != '/' && !strpbrk(v, " \t\r\n<>\"");
}

/* UTF-8 characters in v (as a user counts them, roughly). */
static size_t chars(const char *v) {
  size_t n = 0;
  for (; *v; v++)
    n += ((unsigned char)*v & 0xC0) != 0x80;
  return n;
}

static void fmt_bound(char *out, size_t cap, double x) {
  if (isinf(x))
    snprintf(out, cap, "%s", x < 0 ? "any" : "any");
  else
    snprintf(out, cap, "%g", x);
}

/* Check one token against v; on failure write the message. 1 passed. */
static int check(const char *tok, size_t n, const char *v, int present,
                 char *msg, size_t cap) {
  double lo, hi, x;
  char a[32], b[32], *end;
  if (n == 8 && !strncmp(tok, "required", 8)) {
    if (present && *v)
      return 1;
    snprintf(msg, cap, "is required");
    return 0;
  }
  if (!present || !*v)
    return 1; /* optional and empty: the rest does not apply */
  if ((n == 3 && !strncmp(tok, "int", 3)) || !strncmp(tok, "int:", 4) ||
      !strncmp(tok, "number", 6)) {
    int integer = tok[0] == 'i';
    const char *colon = memchr(tok, ':', n);
    errno = 0;
    x = strtod(v, &end);
    int ok = !*end && !errno && isfinite(x) &&
             (!integer || (x < 9e15 && x > -9e15 && x == (double)(long long)x));
    if (colon && range(colon + 1, n - (size_t)(colon + 1 - tok), &lo, &hi))
      lo = hi = NAN; /* a malformed rule fails closed */
    if (ok && colon && !(x >= lo && x <= hi))
      ok = 0;
    if (ok)
      return 1;
    if (colon) {
      fmt_bound(a, sizeof a, lo);
      fmt_bound(b, sizeof b, hi);
      snprintf(msg, cap, "must be a %s from %s to %s",
               integer ? "whole number" : "number", a, b);
    } else {
      snprintf(msg, cap, "must be a %s", integer ? "whole number" : "number");
    }
    return 0;
  }
  if (n == 5 && !strncmp(tok, "email", 5)) {
    if (email_ok(v))
      return 1;
    snprintf(msg, cap, "must be an email address");
    return 0;
  }
  if (n == 3 && !strncmp(tok, "url", 3)) {
    if (url_ok(v))
      return 1;
    snprintf(msg, cap, "must be an http or https URL");
    return 0;
  }
  if (!strncmp(tok, "len:", 4)) {
    if (range(tok + 4, n - 4, &lo, &hi))
      lo = hi = NAN;
    x = (double)chars(v);
    if (x >= lo && x <= hi)
      return 1;
    fmt_bound(a, sizeof a, lo);
    fmt_bound(b, sizeof b, hi);
    snprintf(msg, cap, "must be %s to %s characters long", a, b);
    return 0;
  }
  if (!strncmp(tok, "oneof:", 6)) {
    size_t vl = strlen(v);
    for (const char *p = tok + 6, *e = tok + n; p < e;) {
      const char *c = memchr(p, ',', (size_t)(e - p));
      size_t l = c ? (size_t)(c - p) : (size_t)(e - p);
      if (l == vl && !memcmp(p, v, l))
        return 1;
      p += l + 1;
    }
    snprintf(msg, cap, "must be one of %.*s", (int)(n - 6), tok + 6);
    return 0;
  }
  snprintf(msg, cap, "has an unknown rule \"%.*s\"", (int)n, tok);
  return 0;
}

int cn_validate(cn_req *req, const cn_rule *rules, size_t n,
                json_t **errors) {
  char value[4096], msg[256];
  *errors = NULL;
  for (size_t i = 0; i < n; i++) {
    const cn_rule *r = &rules[i];
    if (!r->field || !r->checks)
      continue;
    int present = field(req, r->field, value, sizeof value);
    if (!present)
      value[0] = '\0';
    const char *p = r->checks;
    int ok = 1;
    while (ok && *p) {
      while (*p == ' ' || *p == '\t')
        p++;
      size_t len = strcspn(p, " \t");
      if (len)
        ok = check(p, len, value, present, msg, sizeof msg);
      p += len;
    }
    if (ok)
      continue;
    if (!*errors && !(*errors = json_object()))
      return CN_ENOMEM;
    if (json_object_get(*errors, r->field))
      continue; /* the first failing rule of a field wins */
    if (json_object_set_new(*errors, r->field,
                            json_string(r->message ? r->message : msg))) {
      json_decref(*errors);
      *errors = NULL;
      return CN_ENOMEM;
    }
  }
  return *errors ? CN_EINVAL : 0;
}
