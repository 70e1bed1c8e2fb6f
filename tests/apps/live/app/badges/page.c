/* /badges: the notes list as a live region whose rows carry an island. */
#include <cairn.h>

CN_PAGE(.metadata = {.title = "Badges"},
        .live = {{"list", "notes:list", NULL}});
