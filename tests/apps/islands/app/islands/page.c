/* /islands: a counter twice, hostile props, a chart mounted when seen. */
#include <cairn.h>

static int load(cn_req *req, json_t **props) {
  (void)req;
  json_t *deep = json_object(), *at = deep;
  for (int i = 0; i < 50; i++) {
    json_t *next = json_object();
    json_object_set_new(at, "d", next);
    at = next;
  }
  *props = json_pack(
      "{s:{s:i},s:{s:s,s:s,s:s,s:o},s:{s:[i,i,i]}}", "counter", "start", 3,
      "echo", "html", "</script><script>window.pwned=1</script>", "comment",
      "<!-- -->&amp;", "ls", "a\xe2\x80\xa8" "b\xe2\x80\xa9" "c", "deep", deep,
      "chart", "points", 1, 2, 3);
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load, .dynamic = 1);
