/* Budget periods: the current local hour, day and calendar month of a timezone as
 * [start, end) in ms since the epoch. Computed by io/tzperiod (tz data), consumed by the pure
 * budget code (policy/budget). */
#ifndef GS_PERIOD_H
#define GS_PERIOD_H

#include "model/qty.h"

typedef enum { GS_WIN_HOUR = 0, GS_WIN_DAY = 1, GS_WIN_MONTH = 2, GS_WIN__N = 3 } gs_window;
const char *gs_window_name(gs_window w); /* "hour", "day", "month" */

/* A local day across a DST change lasts 23 h or 25 h. */
typedef struct gs_periods {
    gs_ms start[GS_WIN__N];
    gs_ms end[GS_WIN__N];
} gs_periods;

#endif
