/* The count of action runs: an action that ran changed it, a refused
 * request did not. Defined in app/counter/page.c. */
#include <cairn.h>

CN_EXTERN long counter_get(void);
/* Add n; the new count. */
CN_EXTERN long counter_add(long n);
