/* A second template below meta's: the nearest one applies, they never
 * stack; this layout's own title goes through meta's. */
#include <cairn.h>

CN_LAYOUT(.metadata = {.title = "Nested Default",
                       .title_template = "%s :: Nested"});
