/* pages/api/webhook.c: a webhook receiver. The body is left unparsed
 * (raw_body) because the signature is over the exact bytes sent:
 * X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body, hex>, as GitHub
 * signs its deliveries. Compared in constant time. */
#include "../../lib/body.h"
#include "../../lib/sha256.h"

#define SECRET "cairn-webhook-secret"

static int handle(cn_req *req, cn_res *res) {
  cn_str body = cn_req_body(req);
  cn_str sig = cn_req_header(req, "x-hub-signature-256");
  char want[65];
  t_hmac_sha256_hex(SECRET, sizeof SECRET - 1, body.ptr, body.len, want);
  int ok = sig.ptr && sig.len == 7 + 64 && !memcmp(sig.ptr, "sha256=", 7);
  unsigned diff = 0;
  for (size_t i = 0; ok && i < 64; i++)
    diff |= (unsigned char)(sig.ptr[7 + i] ^ want[i]);
  if (!ok || diff)
    return cn_res_error(res, 401, "Invalid signature");
  return t_reply(res, 200, json_pack("{s:b,s:s,s:o}", "verified", 1,
                                     "route", "pages/api/webhook", "body",
                                     t_body_json(req)));
}

CN_ROUTE(.handler = handle, .config = {.raw_body = 1, .body_limit = "64kb"});
