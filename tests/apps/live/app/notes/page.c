/* /notes: the notes list as a live region. */
#include <cairn.h>

CN_PAGE(.metadata = {.title = "Notes"},
        .live = {{"list", "notes:list", NULL}});
