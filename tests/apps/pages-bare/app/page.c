/* pages-bare: no <head> in the root layout, no not-found.html and no
 * error.html anywhere: cairn's own pages answer. */
#include <cairn.h>

CN_PAGE(.metadata = {.title = "Bare & <Home>", .description = "bare"});
