#include <cairn.h>

CN_PAGE(.metadata = {.title_absolute = "Absolute Title", .description = "abs"});
