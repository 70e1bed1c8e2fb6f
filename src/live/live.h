/*
 * live.h: live queries. Clients subscribe to query functions over a
 * WebSocket (GET /_cairn/sync, docs/sync-protocol.md); every commit
 * re-runs the subscriptions whose reads it touched and pushes the results
 * that changed.
 *
 * The shape. One engine thread owns all the state: the query instances
 * (one per distinct path + arguments + identity, shared by every client
 * subscribed to it), the sessions' query sets, and what each session still
 * has to be sent. Everything else only hands it work through two queues:
 *   - jobs, from the sockets' loop threads (a session's messages, its
 *     close) and from task threads (a mutation's answer is sent directly);
 *   - commits, from the store's writer thread (cn__store_on_commit): the
 *     timestamp and the tables each write touched, in commit order.
 * The engine takes a batch of commits, marks the instances whose read set
 * overlaps them, re-runs each once (a query on a fresh snapshot, so its
 * value reflects at least every commit of the batch), and when the batch
 * is done sends each session one transition with its changed values,
 * stamped with the batch's last timestamp: transitions are committed
 * states, in commit order, and a client that got a mutation's ts T knows
 * its write is reflected once a transition's end ts reaches T.
 *
 * Slow clients. A session's unsent changes are kept per query id, the
 * newest replacing the older; a session whose socket still holds more
 * than a limit is not sent more until it drains, and one that stays behind
 * for long is closed with 1008.
 *
 * Mutations and actions a session calls run on task threads (they may
 * block); their answers are sent from there.
 */
#ifndef CN_LIVE_H
#define CN_LIVE_H

#include <cairn.h>

#include "data/data.h"

typedef struct cn__live cn__live;

/* Start the engine for layer d: register the store's commit listener and
 * start the engine thread. OUT: *out. 0, CN_ENOMEM, CN_ESYS. */
int cn__live_start(cn__data *d, cn__live **out);
/* Shutting down takes two steps around the data layer's close: stop the
 * engine thread (no more queries run) before cn__data_close, free the
 * engine after it (the store's writer may report commits until it has
 * drained, and those land in the engine's queue). NULL is fine. */
void cn__live_stop(cn__live *lv);
void cn__live_free(cn__live *lv);
/* GET /_cairn/sync (the socket) and GET /_cairn/live.js (the client). */
int cn__live_mount(cn_app *app, cn__live *lv);

/* Counters for tests and the bench: query runs, pushes (one per changed
 * value per session), transitions sent. */
typedef struct cn__live_stats {
  uint64_t runs, pushes, transitions, sessions, instances;
} cn__live_stats;
void cn__live_get_stats(cn__live *lv, cn__live_stats *out);

/* The client script (live.c). */
const char *cn__live_script(void);

#endif
