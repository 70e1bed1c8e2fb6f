/* app/res/big/route.c: a big answer under the default response limit
 * (4 MiB): over it, the server logs a warning naming the route. */
#include "../../../lib/big.h"

CN_ROUTE(.GET = big_handle);
