/* /strict/[id]: only the listed ids exist (dynamicParams = false). */
#include <cairn.h>

static int params(json_t **out) {
  *out = json_pack("[{s:s},{s:s}]", "id", "1", "id", "2");
  return *out ? 0 : CN_ENOMEM;
}

CN_PAGE(.static_params = params, .dynamic_params_off = 1);
