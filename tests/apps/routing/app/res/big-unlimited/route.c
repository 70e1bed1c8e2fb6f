/* app/res/big-unlimited/route.c: /res/big with .response_limit = "off"
 * (Next.js's responseLimit: false): never a warning, whatever the size. */
#include "../../../lib/big.h"

CN_ROUTE(.GET = big_handle, .config = {.response_limit = "off"});
