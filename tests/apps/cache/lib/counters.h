/* Render counters the cache tests read through /api/renders: defined once
 * in app/api/renders/route.c (CN_EXTERN: one table for the whole built
 * server). */
#ifndef CACHE_COUNTERS_H
#define CACHE_COUNTERS_H

#include <cairn.h>

CN_EXTERN int counter_bump(const char *name); /* returns the new value */
CN_EXTERN int counter_get(const char *name);

#endif
