/* Helpers of the pages test app. Gates: a loader waits at gate K until the
 * test calls /api/release?key=K, so "this request did not stall the others"
 * is shown by order, never by timing; a barrier counts arrivals. Defined
 * once, in app/api/release/route.c (CN_EXTERN, so every route file of the
 * built server links to the same table). */
#ifndef PAGES_T_H
#define PAGES_T_H

#include <string.h>

#include <cairn.h>

CN_EXTERN int gate_wait(const char *key, int ms); /* 0, or CN_EIO on timeout */
CN_EXTERN void gate_open(const char *key);
/* Add one to counter key, then wait until it reaches n: 0 or CN_EIO. */
CN_EXTERN int barrier(const char *key, int n, int ms);

/* s equals the literal */
#define SEQ(s, lit) ((s).len == sizeof(lit) - 1 && !memcmp((s).ptr, lit, (s).len))

#endif
