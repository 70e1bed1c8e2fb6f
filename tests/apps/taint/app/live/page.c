/* /live: notes as a live region; a note can make the query leak. */
#include <cairn.h>

CN_PAGE(.dynamic = 1, .live = {{"notes", "notes:list", NULL}});
