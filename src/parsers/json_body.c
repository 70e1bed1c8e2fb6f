/*
 * JSON bodies through jansson. The flags are the decisions documented in
 * parsers.h: any value at the top (as JSON.parse), duplicate keys refused,
 * \u0000 refused (jansson's default without JSON_ALLOW_NUL).
 */
#include <stdio.h>

#include "parsers/parsers_int.h"

int cn__json_parse(cn_str body, json_t **out, cn__perr *err) {
  *out = NULL;
  cn__parsers_errclear(err);
  if (!body.len) {
    /* Next.js: an empty body is {} (whitespace alone is not empty). */
    *out = json_object();
    if (!*out) {
      cn__parsers_errf(err, "out of memory");
      return CN_ENOMEM;
    }
    return 0;
  }
  json_error_t e;
  json_t *j = json_loadb(body.ptr, body.len,
                         JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
  if (!j) {
    if (json_error_code(&e) == json_error_out_of_memory) {
      cn__parsers_errf(err, "out of memory");
      return CN_ENOMEM;
    }
    /* jansson quotes the offending input in its text: keep it ASCII. */
    char shown[JSON_ERROR_TEXT_LENGTH];
    cn__parsers_show(cn__cstr(e.text), shown, sizeof shown - 1);
    if (strstr(shown, "JSON_ALLOW_NUL")) /* name no jansson flag */
      snprintf(shown, sizeof shown, "\\u0000 is not allowed in strings");
    cn__parsers_errf(err, "Invalid JSON at line %d, column %d: %s", e.line,
                     e.column, shown);
    return CN_EPARSE;
  }
  *out = j;
  return 0;
}
