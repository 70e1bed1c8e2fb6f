/* app/res/headers/route.c: set (replacing), add (one more line), remove,
 * and every kind of header the API must refuse. Each refused call's code
 * goes into the JSON body; nothing refused may reach the wire. */
#include "../../../lib/t.h"

static int handle(cn_req *req, cn_res *res) {
  (void)req;
  json_t *rc = json_object();
#define TRY(key, call) json_object_set_new(rc, key, json_integer(call))
  TRY("set_one_a", cn_res_header(res, "X-One", "a"));
  TRY("set_one_b", cn_res_header(res, "x-one", "b")); /* replaces X-One */
  TRY("add_multi_1", cn_res_header_add(res, "X-Multi", "1"));
  TRY("add_multi_2", cn_res_header_add(res, "X-Multi", "2"));
  TRY("add_multi_3", cn_res_header_add(res, "x-multi", "3"));
  TRY("set_gone", cn_res_header(res, "X-Gone", "should not be sent"));
  TRY("add_gone", cn_res_header_add(res, "X-Gone", "nor this"));
  TRY("remove_gone", cn_res_header_remove(res, "x-GONE"));
  TRY("remove_absent", cn_res_header_remove(res, "X-Never-Set"));
  TRY("set_empty", cn_res_header(res, "X-Empty", ""));
  TRY("crlf_value", cn_res_header(res, "X-Bad", "a\r\nX-Injected: 1"));
  TRY("lf_value", cn_res_header(res, "X-Bad", "a\nX-Injected: 2"));
  TRY("cr_value", cn_res_header(res, "X-Bad", "a\rX-Injected: 3"));
  TRY("crlf_add", cn_res_header_add(res, "X-Bad", "a\r\n\r\n<html>"));
  TRY("crlf_name", cn_res_header(res, "X-Bad\r\nX-Injected", "4"));
  TRY("colon_name", cn_res_header(res, "X-Bad:", "5"));
  TRY("space_name", cn_res_header(res, "X Bad", "6"));
  TRY("empty_name", cn_res_header(res, "", "7"));
  TRY("content_length", cn_res_header(res, "Content-Length", "1"));
  TRY("transfer_encoding", cn_res_header(res, "Transfer-Encoding", "chunked"));
  TRY("connection", cn_res_header(res, "Connection", "close"));
  TRY("date", cn_res_header(res, "Date", "yesterday"));
  TRY("redirect_crlf", cn_res_redirect(res, 0, "/x\r\nX-Injected: 8"));
  TRY("cookie_crlf", cn_res_cookie(res, "c", "v\r\nX-Injected: 9", NULL));
  TRY("cookie_semicolon", cn_res_cookie(res, "c", "a;b", NULL));
  TRY("cookie_bad_name", cn_res_cookie(res, "c=d", "v", NULL));
  TRY("cookie_path_crlf", cn_res_cookie(res, "c", "v", &(cn_cookie_opts){
                                   .path = "/\r\nX-Injected: 10"}));
  TRY("redirect_200", cn_res_redirect(res, 200, "/x"));
#undef TRY
  json_object_set_new(rc, "EHEADER", json_integer(CN_EHEADER));
  json_object_set_new(rc, "EINVAL", json_integer(CN_EINVAL));
  return t_reply(res, 200, rc);
}

CN_ROUTE(.GET = handle);
