/* The count of action runs: an action that ran changed it, a refused
 * request did not. Kept by data/count.c, so that instances behind a
 * balancer share it; defined in app/counter/page.c. */
#include <cairn.h>

/* The count now, or -1 when it cannot be read. */
CN_EXTERN long counter_get(cn_req *req);
/* Add n; the new count, or -1 (the mutation failed). */
CN_EXTERN long counter_add(cn_req *req, long n);
