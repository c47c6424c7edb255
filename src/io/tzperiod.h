/* Budget periods in an IANA timezone: the current local hour, local day (23 h or 25 h across
 * a DST change) and calendar month, as [start, end) in ms since the epoch. Uses the system's
 * tz database (/usr/share/zoneinfo, or $TZDIR) through TZ + localtime_r/mktime under a lock;
 * the previous TZ is restored. The pure budget code takes the result (gs_periods). */
#ifndef GS_IO_TZPERIOD_H
#define GS_IO_TZPERIOD_H

#include "model/err.h"
#include "model/qty.h"
#include "model/period.h"
#include <stddef.h>

/* Is tz a name the tz database has ("UTC", "Europe/Berlin")? An empty name means "UTC". */
int gs_tz_check(const char *tz, gs_error *err);

/* Periods containing now (ms since the epoch, >= 0) in tz. */
int gs_tz_periods(const char *tz, gs_ms now, gs_periods *out, gs_error *err);

/* Local calendar date of t in tz as "YYYY-MM-DD" (buf >= 11 bytes). */
int gs_tz_date(const char *tz, gs_ms t, char *buf, size_t size, gs_error *err);

/* Parses "YYYY-MM-DD" (local midnight in tz) or "YYYY-MM-DDTHH:MM:SSZ" (UTC) into ms. */
int gs_tz_parse_time(const char *tz, const char *s, gs_ms *out, gs_error *err);

#endif
