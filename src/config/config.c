/*
 * Server options: defaults, cairn.json, and the PORT/HOSTNAME environment.
 * A wrong key or type is an error naming the key, never a silent default:
 * a typo in a limit must not leave the server running with another limit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "auth/auth.h"

void cn_config_init(cn_config *c) {
  memset(c, 0, sizeof(*c));
  c->hostname = "127.0.0.1";
  c->port = 3000;
  c->access_log = 1;
  c->data_exclusive = -1;
  c->data_inline_query_us = 60;
  c->limits = (cn_limits){
      .request_line = 8 * 1024,
      .header_bytes = 16 * 1024,
      .header_count = 100,
      .body = 1024 * 1024,
      .chunk_ext_bytes = 16 * 1024,
      .header_timeout_ms = 10000,
      .request_timeout_ms = 30000,
      .keepalive_timeout_ms = 5000,
      .keepalive_requests = 1000,
      .max_connections = 10000,
      .shutdown_timeout_ms = 10000,
      .linger_ms = 2000,
      .ws_message = 1024 * 1024,
      .ws_backlog = 4 * 1024 * 1024,
      .ws_ping_ms = 30000,
  };
  c->cache_memory = (size_t)64 << 20;
  c->actions_body_limit = (size_t)1 << 20;
  c->cache_expire_s = 31536000;
}


/* T_MS0: milliseconds where 0 means "never" */
typedef enum { T_SIZE, T_MS, T_MS0, T_COUNT } kind;

static const struct {
  const char *key;
  kind k;
  size_t off;
} limit_keys[] = {
    {"request_line", T_SIZE, offsetof(cn_limits, request_line)},
    {"header_bytes", T_SIZE, offsetof(cn_limits, header_bytes)},
    {"header_count", T_SIZE, offsetof(cn_limits, header_count)},
    {"body", T_SIZE, offsetof(cn_limits, body)},
    {"chunk_ext_bytes", T_SIZE, offsetof(cn_limits, chunk_ext_bytes)},
    {"header_timeout_ms", T_MS, offsetof(cn_limits, header_timeout_ms)},
    {"request_timeout_ms", T_MS, offsetof(cn_limits, request_timeout_ms)},
    {"keepalive_timeout_ms", T_MS, offsetof(cn_limits, keepalive_timeout_ms)},
    {"keepalive_requests", T_COUNT, offsetof(cn_limits, keepalive_requests)},
    {"max_connections", T_COUNT, offsetof(cn_limits, max_connections)},
    {"shutdown_timeout_ms", T_MS, offsetof(cn_limits, shutdown_timeout_ms)},
    {"linger_ms", T_MS, offsetof(cn_limits, linger_ms)},
    {"ws_message", T_SIZE, offsetof(cn_limits, ws_message)},
    {"ws_backlog", T_SIZE, offsetof(cn_limits, ws_backlog)},
    {"ws_ping_ms", T_MS, offsetof(cn_limits, ws_ping_ms)},
    {"ws_idle_ms", T_MS0, offsetof(cn_limits, ws_idle_ms)},
};

/* Strings a configuration keeps for the life of the process (the header's
 * promise), released at exit so leak checkers see a clean process. */
static char **owned;
static size_t nowned;

static void free_owned(void) {
  for (size_t i = 0; i < nowned; i++)
    cn__free(owned[i]);
  cn__free(owned);
}

/* Take p (heap, may be NULL) into the process's keeping. NULL when p is,
 * or when there is no room to keep it (p is then freed). */
static void *own(void *p) {
  char **grown = p ? cn__realloc(owned, (nowned + 1) * sizeof(*owned)) : NULL;
  if (!grown) {
    cn__free(p);
    return NULL;
  }
  owned = grown;
  if (!nowned)
    atexit(free_owned);
  owned[nowned++] = p;
  return p;
}

static char *keep(const char *s) { return own(cn__strdup(s)); }

static int fail(char *err, size_t n, const char *fmt, const char *key) {
  if (err)
    snprintf(err, n, fmt, key);
  return CN_ECONFIG;
}

static int set_limit(cn_limits *l, const char *key, json_t *v, char *err,
                     size_t n) {
  for (size_t i = 0; i < CN__ARRAY_LEN(limit_keys); i++) {
    if (strcmp(limit_keys[i].key, key))
      continue;
    char *field = (char *)l + limit_keys[i].off;
    if (limit_keys[i].k == T_SIZE) {
      size_t size;
      if (json_is_integer(v) && json_integer_value(v) > 0)
        size = (size_t)json_integer_value(v);
      else if (!json_is_string(v) ||
               cn__parse_size(json_string_value(v), &size) || !size)
        return fail(err, n,
                    "cairn.json: \"limits.%s\" must be a positive size "
                    "(a number of bytes or a string like \"16kb\")",
                    key);
      memcpy(field, &size, sizeof size);
    } else {
      int zero_ok = limit_keys[i].k == T_MS0;
      if (!json_is_integer(v) || json_integer_value(v) < (zero_ok ? 0 : 1))
        return fail(err, n,
                    zero_ok ? "cairn.json: \"limits.%s\" must be an integer "
                              "of 0 (never) or more"
                            : "cairn.json: \"limits.%s\" must be a positive "
                              "integer",
                    key);
      uint64_t u = (uint64_t)json_integer_value(v);
      memcpy(field, &u, sizeof u);
    }
    return 0;
  }
  return fail(err, n, "cairn.json: unknown key \"limits.%s\"", key);
}

static int get_int(json_t *v, const char *key, int lo, int hi, int *out,
                   char *err, size_t n) {
  if (!json_is_integer(v) || json_integer_value(v) < lo ||
      json_integer_value(v) > hi) {
    if (err)
      snprintf(err, n, "cairn.json: \"%s\" must be an integer from %d to %d",
               key, lo, hi);
    return CN_ECONFIG;
  }
  *out = (int)json_integer_value(v);
  return 0;
}

/* "cache": {"memory": "64mb", "expire": seconds}. */
static int set_cache(cn_config *c, json_t *v, char *err, size_t n) {
  const char *k;
  json_t *x;
  if (!json_is_object(v))
    return fail(err, n, "cairn.json: \"%s\" must be an object", "cache");
  json_object_foreach(v, k, x) {
    if (!strcmp(k, "memory")) {
      size_t b;
      if (!json_is_string(x) || cn__parse_size(json_string_value(x), &b) ||
          b < 4096)
        return fail(err, n, "cairn.json: \"cache.%s\" must be a size such "
                            "as \"64mb\" (at least 4kb)", k);
      c->cache_memory = b;
    } else if (!strcmp(k, "expire")) {
      if (!json_is_integer(x) || json_integer_value(x) < 1)
        return fail(err, n, "cairn.json: \"cache.%s\" must be a number "
                            "of seconds >= 1", k);
      c->cache_expire_s = (uint64_t)json_integer_value(x);
    } else {
      return fail(err, n, "cairn.json: unknown key \"cache.%s\"", k);
    }
  }
  return 0;
}

/* "actions": {"allowed_origins": [...], "body_limit": "1mb"}. */
static int set_actions(cn_config *c, json_t *v, char *err, size_t n) {
  const char *k;
  json_t *x;
  if (!json_is_object(v))
    return fail(err, n, "cairn.json: \"%s\" must be an object", "actions");
  json_object_foreach(v, k, x) {
    if (!strcmp(k, "body_limit")) {
      size_t b;
      if (!json_is_string(x) || cn__parse_size(json_string_value(x), &b) || !b)
        return fail(err, n, "cairn.json: \"actions.%s\" must be a size such "
                            "as \"1mb\"", k);
      c->actions_body_limit = b;
    } else if (!strcmp(k, "allowed_origins")) {
      size_t i, m = json_array_size(x);
      json_t *o;
      if (!json_is_array(x))
        return fail(err, n, "cairn.json: \"actions.%s\" must be an array of "
                            "host patterns", k);
      /* Kept for the process, as the header promises (and freed at exit,
       * so that leak checkers see a clean process). */
      const char **list = m ? own(cn__calloc(m, sizeof(char *))) : NULL;
      if (m && !list)
        return CN_ENOMEM;
      json_array_foreach(x, i, o) {
        if (!json_is_string(o) || !json_string_length(o))
          return fail(err, n, "cairn.json: \"actions.%s\" must be an array "
                              "of host patterns", k);
        if (!(list[i] = keep(json_string_value(o))))
          return CN_ENOMEM;
      }
      c->allowed_origins = list; /* the process's, as the header says */
      c->nallowed_origins = m;
    } else {
      return fail(err, n, "cairn.json: unknown key \"actions.%s\"", k);
    }
  }
  return 0;
}

/* "data": {"durability": "normal" | "full", "exclusive": bool,
 * "inline_query_us": N}. */
static int set_data(cn_config *c, json_t *v, char *err, size_t n) {
  const char *k;
  json_t *x;
  if (!json_is_object(v))
    return fail(err, n, "cairn.json: \"%s\" must be an object", "data");
  json_object_foreach(v, k, x) {
    if (!strcmp(k, "exclusive")) {
      if (!json_is_boolean(x))
        return fail(err, n, "cairn.json: \"data.%s\" must be true or "
                            "false", k);
      c->data_exclusive = json_is_true(x);
      continue;
    }
    if (!strcmp(k, "inline_query_us")) {
      if (!json_is_integer(x) || json_integer_value(x) < 0 ||
          json_integer_value(x) > 1000000)
        return fail(err, n, "cairn.json: \"data.%s\" must be a whole "
                            "number of microseconds from 0 to 1000000", k);
      c->data_inline_query_us = (int)json_integer_value(x);
      continue;
    }
    if (strcmp(k, "durability"))
      return fail(err, n, "cairn.json: unknown key \"data.%s\"", k);
    const char *s = json_string_value(x);
    if (!s || (strcmp(s, "normal") && strcmp(s, "full")))
      return fail(err, n, "cairn.json: \"data.%s\" must be \"normal\" or "
                          "\"full\"", k);
    c->data_durability_full = !strcmp(s, "full");
  }
  return 0;
}

int cn_config_load(cn_config *c, const char *path, char *err, size_t n) {
  json_error_t je;
  json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
  if (!root) {
    if (err)
      snprintf(err, n, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    return CN_ECONFIG;
  }
  int rc = 0;
  const char *key;
  json_t *v;
  if (!json_is_object(root)) {
    rc = fail(err, n, "%s: the configuration must be a JSON object", path);
    goto cleanup;
  }
  json_object_foreach(root, key, v) {
    if (!strcmp(key, "port")) {
      rc = get_int(v, key, 0, 65535, &c->port, err, n);
    } else if (!strcmp(key, "hostname")) {
      if (!json_is_string(v) || !json_string_length(v)) {
        rc = fail(err, n, "cairn.json: \"%s\" must be a non-empty string",
                  key);
      } else {
        /* Kept for the life of the process, as the header promises. */
        char *h = keep(json_string_value(v));
        rc = h ? 0 : CN_ENOMEM;
        c->hostname = h ? h : c->hostname;
      }
    } else if (!strcmp(key, "io_threads")) {
      rc = get_int(v, key, 0, 256, &c->io_threads, err, n);
    } else if (!strcmp(key, "handler_threads")) {
      rc = get_int(v, key, 0, 4096, &c->handler_threads, err, n);
    } else if (!strcmp(key, "access_log") || !strcmp(key, "dev") ||
               !strcmp(key, "trust_proxy")) {
      if (!json_is_boolean(v))
        rc = fail(err, n, "cairn.json: \"%s\" must be true or false", key);
      else if (key[0] == 'a')
        c->access_log = json_is_true(v);
      else if (key[0] == 'd')
        c->dev = json_is_true(v);
      else
        c->trust_proxy = json_is_true(v);
    } else if (!strcmp(key, "handler_timeout_ms")) {
      if (!json_is_integer(v) || json_integer_value(v) < 0)
        rc = fail(err, n, "cairn.json: \"%s\" must be an integer >= 0", key);
      else
        c->handler_timeout_ms = (uint64_t)json_integer_value(v);
    } else if (!strcmp(key, "cache")) {
      rc = set_cache(c, v, err, n);
    } else if (!strcmp(key, "actions")) {
      rc = set_actions(c, v, err, n);
    } else if (!strcmp(key, "auth")) {
      struct cn_auth_config *a = NULL;
      rc = cn__auth_config_parse(v, &a, err, n);
      c->auth = rc ? c->auth : a;
    } else if (!strcmp(key, "data")) {
      rc = set_data(c, v, err, n);
    } else if (!strcmp(key, "limits")) {
      if (!json_is_object(v)) {
        rc = fail(err, n, "cairn.json: \"%s\" must be an object", key);
      } else {
        const char *lk;
        json_t *lv;
        json_object_foreach(v, lk, lv) {
          if ((rc = set_limit(&c->limits, lk, lv, err, n)))
            break;
        }
      }
    } else {
      rc = fail(err, n, "cairn.json: unknown key \"%s\"", key);
    }
    if (rc)
      break;
  }
cleanup:
  json_decref(root);
  return rc;
}

int cn_config_env(cn_config *c) {
  const char *port = getenv("PORT");
  if (port && *port) {
    char *end;
    long p = strtol(port, &end, 10);
    if (*end || p < 0 || p > 65535)
      return CN_ECONFIG;
    c->port = (int)p;
  }
  const char *host = getenv("HOSTNAME");
  if (host && *host)
    c->hostname = host;
  return 0;
}
