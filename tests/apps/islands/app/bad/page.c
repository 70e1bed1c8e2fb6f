/* /bad: names a module the app does not have: a render error, per request
 * (dynamic, so that the build's prerender does not stop on it). */
#include <cairn.h>

CN_PAGE(.dynamic = 1);
