/*
 * Message framing: the rules that decide where a request body ends. Any
 * doubt here is a 400 and a closed connection, because a server and a proxy
 * that disagree on framing is how requests get smuggled.
 */
#include <strings.h>

#include "http.h"

static int token_in_list(cn_str list, const char *tok) {
  size_t tl = strlen(tok);
  const char *p = list.ptr, *end = list.ptr + list.len;
  while (p < end) {
    const char *c = memchr(p, ',', (size_t)(end - p));
    cn_str item = cn__str_trim(cn__str(p, (size_t)((c ? c : end) - p)));
    if (item.len == tl && !strncasecmp(item.ptr, tok, tl))
      return 1;
    p = c ? c + 1 : end;
  }
  return 0;
}

void cn__head_info_add(cn__head_info *info, cn_str name, cn_str value) {
  /* Dispatch on length first: most headers are none of these. */
  switch (name.len) {
  case 4:
    if (cn__str_ieq2(name, CN_STR("host")))
      info->host_count++, info->host = value;
    break;
  case 6:
    if (cn__str_ieq2(name, CN_STR("expect")))
      info->expect = value;
    else if (cn__str_ieq2(name, CN_STR("accept")) && !info->accept.ptr)
      info->accept = value;
    break;
  case 7:
    if (cn__str_ieq2(name, CN_STR("upgrade")))
      info->upgrade = 1;
    break;
  case 10:
    if (cn__str_ieq2(name, CN_STR("connection"))) {
      if (token_in_list(value, "close"))
        info->conn_close = 1;
      if (token_in_list(value, "keep-alive"))
        info->conn_keep = 1;
    }
    break;
  case 14:
    if (cn__str_ieq2(name, CN_STR("content-length")))
      info->cl_count++, info->content_length = value;
    break;
  case 17:
    if (cn__str_ieq2(name, CN_STR("transfer-encoding")))
      info->te_count++, info->transfer_encoding = value;
    break;
  }
}

int cn__host_valid(cn_str h) {
  if (!h.len || h.len > 255)
    return 0;
  size_t i = 0;
  if (h.ptr[0] == '[') {
    while (i < h.len && h.ptr[i] != ']') {
      char c = h.ptr[i];
      if (i > 0 && !(c == ':' || c == '.' || (c >= '0' && c <= '9') ||
                     (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
        return 0;
      i++;
    }
    if (i == h.len || i < 3)
      return 0;
    i++;
  } else {
    for (; i < h.len && h.ptr[i] != ':'; i++) {
      unsigned char c = (unsigned char)h.ptr[i];
      int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c >= '0' && c <= '9') || strchr("-._~!$&'()*+,;=%", c);
      if (!ok || c == '\0')
        return 0;
    }
    if (i == 0)
      return 0;
  }
  if (i == h.len)
    return 1;
  if (h.ptr[i] != ':')
    return 0;
  size_t digits = h.len - i - 1;
  if (digits > 5)
    return 0;
  for (i++; i < h.len; i++)
    if (h.ptr[i] < '0' || h.ptr[i] > '9')
      return 0;
  return 1;
}

static int parse_length(cn_str v, uint64_t *out) {
  if (!v.len || v.len > 19)
    return -1;
  uint64_t n = 0;
  for (size_t i = 0; i < v.len; i++) {
    if (v.ptr[i] < '0' || v.ptr[i] > '9')
      return -1;
    n = n * 10 + (uint64_t)(v.ptr[i] - '0');
  }
  *out = n;
  return 0;
}

/* The last transfer coding must be chunked, and chunked must appear once:
 * anything else leaves the body's end undecidable. */
static int check_te(cn_str te) {
  const char *p = te.ptr, *end = te.ptr + te.len;
  int chunked_seen = 0, last_chunked = 0, items = 0;
  while (p <= end) {
    const char *c = memchr(p, ',', (size_t)(end - p));
    cn_str item = cn__str_trim(cn__str(p, (size_t)((c ? c : end) - p)));
    if (!item.len)
      return 400;
    items++;
    last_chunked = item.len == 7 && !strncasecmp(item.ptr, "chunked", 7);
    if (last_chunked && chunked_seen++)
      return 400;
    if (!cn__header_name_valid(item.ptr, item.len))
      return 400;
    if (!c)
      break;
    p = c + 1;
  }
  if (!items || !last_chunked)
    return 400;
  return items > 1 ? 501 : 0; /* gzip, chunked: we decode no other coding */
}

int cn__head_check(const cn__head_info *info, const cn__request_line *rl,
                   int *chunked, uint64_t *content_length,
                   int *expect_continue) {
  *chunked = 0;
  *content_length = 0;
  *expect_continue = 0;
  if (rl->minor == 1 && info->host_count != 1)
    return 400;
  if (info->host_count > 1 ||
      (info->host_count == 1 && !cn__host_valid(info->host)))
    return 400;
  if (info->te_count) {
    if (info->cl_count || rl->minor == 0 || info->te_count > 1)
      return 400;
    int rc = check_te(info->transfer_encoding);
    if (rc)
      return rc;
    *chunked = 1;
  } else if (info->cl_count) {
    if (info->cl_count > 1 || parse_length(info->content_length,
                                           content_length))
      return 400;
  }
  if (info->expect.ptr) {
    if (!cn__str_ieq2(cn__str_trim(info->expect), CN_STR("100-continue")))
      return 417;
    *expect_continue = rl->minor == 1;
  }
  return 0;
}
