/* The same counter on a static page: rendered once, at build. */
#include <stdatomic.h>

#include <cairn.h>

static atomic_int renders;

static int load(cn_req *req, json_t **props) {
  (void)req;
  *props = json_pack("{s:i}", "n", atomic_fetch_add(&renders, 1) + 1);
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load);
