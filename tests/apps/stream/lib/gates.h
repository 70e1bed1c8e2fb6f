/* Gates the streaming tests open from outside: a deferred loader waits at
 * gate K until the test calls /api/release?key=K, so "the shell went out
 * before the section finished" is shown by order, not by timing; and named
 * counters for barriers and completion order. Defined once, in
 * app/api/release/route.c (CN_EXTERN, so the other route files of the
 * built server link to the same table). */
#ifndef STREAM_GATES_H
#define STREAM_GATES_H

#include <cairn.h>

CN_EXTERN int gate_wait(const char *key, int ms);      /* 0, or CN_EIO on timeout */
CN_EXTERN void gate_open(const char *key);
/* A named counter: add d, return the new value; waiters wake. */
CN_EXTERN int counter_add(const char *key, int d);
/* Wait until counter key reaches at least n; 0 or CN_EIO on timeout. */
CN_EXTERN int counter_wait(const char *key, int n, int ms);

#endif
