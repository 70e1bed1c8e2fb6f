/* Status lines and the bodies of the answers the server itself gives. */
#include <stdio.h>
#include <strings.h>

#include "http.h"

const char *cn__status_reason(int s) {
  switch (s) {
  case 100: return "Continue";
  case 101: return "Switching Protocols";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 303: return "See Other";
  case 304: return "Not Modified";
  case 307: return "Temporary Redirect";
  case 308: return "Permanent Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 410: return "Gone";
  case 411: return "Length Required";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 416: return "Range Not Satisfiable";
  case 417: return "Expectation Failed";
  case 422: return "Unprocessable Content";
  case 426: return "Upgrade Required";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  }
  if (s >= 100 && s < 200) return "Informational";
  if (s >= 200 && s < 300) return "Success";
  if (s >= 300 && s < 400) return "Redirection";
  if (s >= 400 && s < 500) return "Client Error";
  return "Server Error";
}

/* Status lines are formatted once, on first use of each status: the table
 * is filled at start-up by cn__status_lines_init (single-threaded). */
static char *status_lines[1000];
static size_t status_lens[1000];

cn_str cn__status_line(int status) {
  if (status < 100 || status > 999)
    status = 500;
  char *line = __atomic_load_n(&status_lines[status], __ATOMIC_ACQUIRE);
  if (!line) {
    char tmp[96];
    int n = snprintf(tmp, sizeof tmp, "HTTP/1.1 %d %s\r\n", status,
                     cn__status_reason(status));
    char *p = cn__strdup(tmp);
    if (!p)
      return CN_STR("HTTP/1.1 500 Internal Server Error\r\n");
    /* Loops race to fill the same slot with the same bytes: the first
     * one published wins, the others free theirs. */
    __atomic_store_n(&status_lens[status], (size_t)n, __ATOMIC_RELAXED);
    char *expected = NULL;
    if (__atomic_compare_exchange_n(&status_lines[status], &expected, p, 0,
                                    __ATOMIC_RELEASE, __ATOMIC_ACQUIRE))
      line = p;
    else
      cn__free(p), line = expected;
  }
  return cn__str(line, __atomic_load_n(&status_lens[status], __ATOMIC_RELAXED));
}

int cn__wants_json(cn_str path, cn_str accept) {
  if (path.len >= 4 && !memcmp(path.ptr, "/api", 4) &&
      (path.len == 4 || path.ptr[4] == '/' || path.ptr[4] == '?'))
    return 1;
  if (!accept.ptr)
    return 0;
  for (size_t i = 0; i + 16 <= accept.len; i++)
    if (!strncasecmp(accept.ptr + i, "application/json", 16))
      return 1;
  return 0;
}

/* Escape for both a JSON string and HTML text: the message is ours, but may
 * quote a path the client sent. */
static size_t escape(char *out, const char *s, int json) {
  size_t n = 0;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    const char *rep = NULL;
    char hex[8];
    if (json) {
      if (c == '"') rep = "\\\"";
      else if (c == '\\') rep = "\\\\";
      else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
        snprintf(hex, sizeof hex, "\\u%04x", c);
        rep = hex;
      }
    } else {
      if (c == '<') rep = "&lt;";
      else if (c == '>') rep = "&gt;";
      else if (c == '&') rep = "&amp;";
      else if (c == '"') rep = "&quot;";
      else if (c == '\'') rep = "&#39;";
    }
    if (rep) {
      size_t l = strlen(rep);
      if (out) memcpy(out + n, rep, l);
      n += l;
    } else {
      if (out) out[n] = (char)c;
      n++;
    }
  }
  return n;
}

char *cn__error_body(cn__arena *a, int json, int status, const char *message,
                     size_t *len) {
  if (!message)
    message = cn__status_reason(status);
  size_t mlen = escape(NULL, message, json);
  char *m = cn__arena_alloc(a, mlen + 1);
  if (!m)
    return NULL;
  escape(m, message, json);
  m[mlen] = '\0';
  char *body;
  if (json)
    body = cn__arena_printf(a, "{\"error\":\"%s\",\"status\":%d}\n", m,
                            status);
  else
    body = cn__arena_printf(
        a,
        "<!doctype html><html><head><meta charset=\"utf-8\">"
        "<title>%d %s</title></head><body><h1>%d %s</h1><p>%s</p></body>"
        "</html>\n",
        status, cn__status_reason(status), status, cn__status_reason(status),
        m);
  if (body)
    *len = strlen(body);
  return body;
}
