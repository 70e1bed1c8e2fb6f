/*
 * What a route handler reads beyond the head: the decoded query, cookies,
 * the body parsed by Content-Type. Parsing happens on the handler's own
 * thread, just before it runs, so a large JSON body never stalls a loop.
 *
 * In progress: the parsers (src/parsers) are being written; until they are
 * wired in here, handlers read the raw body with cn_req_body and nothing is
 * refused at this stage.
 */
#include "server.h"

int cn__req_prepare(cn_req *req) {
  CN__UNUSED(req);
  return 0;
}

void cn__req_data_free(cn_req *req) { CN__UNUSED(req); }
