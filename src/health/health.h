/*
 * Health endpoints for a load balancer or an orchestrator:
 *
 *   GET /_cairn/health/live   200 {"status":"ok"} while the process serves
 *                             requests at all (liveness: restart it if not)
 *   GET /_cairn/health/ready  200 {"status":"ok"} when it should be given
 *                             traffic; 503 {"status":"unavailable",
 *                             "reason": "..."} while it shuts down or a
 *                             dependency (the database) does not answer
 *
 * A server listens only once its migrations are applied, so an instance
 * still migrating is not ready by not being there. Both answer HEAD too,
 * are never cached, and run on a handler thread (a check may block).
 *
 * Checks: each registered check is asked in turn; the first that fails
 * makes the answer 503 with its reason. At most CN__HEALTH_MAX.
 */
#ifndef CN_HEALTH_H
#define CN_HEALTH_H

#include "common/common.h"

#define CN__HEALTH_MAX 4

/* 0 when ready; otherwise non-zero with a short reason written to why. */
typedef int cn__health_check(void *arg, char *why, size_t cap);

/* Add a readiness check (arg borrowed: it must outlive the app). 0, or
 * CN_ETOOBIG past CN__HEALTH_MAX. Before cn__health_mount's routes serve. */
int cn__health_add(cn__health_check *check, void *arg);

/* Mount both routes on app. 0 or the cn_app_route error. */
int cn__health_mount(cn_app *app);

#endif
