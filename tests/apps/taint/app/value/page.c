/* /value: a value tainted at run time (an API key the loader fetched),
 * then rendered by mistake; /value?safe=1 renders only its last 4 bytes. */
#include <cairn.h>

static int load(cn_req *req, json_t **props) {
  const char *key = "sk_live_0123456789abcdefDEADBEEF";
  int rc = cn_taint_value("the payment provider's API key", key);
  if (rc)
    return rc;
  int safe = cn_req_query_get(req, "safe").ptr != NULL;
  *props = json_pack("{s:s}", "key", safe ? key + 28 : key);
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load, .dynamic = 1);
