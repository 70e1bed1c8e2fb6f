/* /notes: the notes as a live region, kept live on PostgreSQL too. */
#include <cairn.h>

CN_PAGE(.dynamic = 1, .live = {{"list", "notes:list", NULL}});
