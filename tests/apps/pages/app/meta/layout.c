/* A title template of its own and an Open Graph group of its own. */
#include <cairn.h>

CN_LAYOUT(.metadata = {.title_template = "%s — Meta",
                       .description = "meta section", .og_title = "Meta OG",
                       .og_image = "/meta.png"});
