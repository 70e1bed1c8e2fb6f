#include <cairn.h>

CN_PAGE(.metadata = {.title = "Deep"});
