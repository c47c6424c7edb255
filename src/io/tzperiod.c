#include "io/tzperiod.h"

#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static pthread_mutex_t g_tz_lock = PTHREAD_MUTEX_INITIALIZER;

int gs_tz_check(const char *tz, gs_error *err) {
    if (!tz || !tz[0]) return 0;
    size_t n = strlen(tz);
    if (n >= 128 || tz[0] == '/' || tz[0] == '.' || strstr(tz, ".."))
        return gs_error_set(err, GS_EINVAL, "timezone '%s' is not an IANA name", tz);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)tz[i];
        if (!isalnum(c) && c != '/' && c != '_' && c != '-' && c != '+')
            return gs_error_set(err, GS_EINVAL, "timezone '%s' is not an IANA name", tz);
    }
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir && dir[0] ? dir : "/usr/share/zoneinfo", tz);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return gs_error_set(err, GS_ENOENT, "unknown timezone '%s' (not in %s)", tz,
                            dir && dir[0] ? dir : "/usr/share/zoneinfo");
    return 0;
}

/* Runs with TZ set to tz; restores the previous TZ afterwards. Caller holds the lock. */
static char *push_tz(const char *tz) {
    const char *old = getenv("TZ");
    char *saved = old ? strdup(old) : NULL;
    setenv("TZ", tz && tz[0] ? tz : "UTC", 1);
    tzset();
    return saved;
}

static void pop_tz(char *saved) {
    if (saved) {
        setenv("TZ", saved, 1);
        free(saved);
    } else {
        unsetenv("TZ");
    }
    tzset();
}

static time_t local_midnight(int year, int mon, int mday) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = year;
    tm.tm_mon = mon;
    tm.tm_mday = mday;
    tm.tm_isdst = -1;
    return mktime(&tm);
}

int gs_tz_periods(const char *tz, gs_ms now, gs_periods *out, gs_error *err) {
    int rc = gs_tz_check(tz, err);
    if (rc) return rc;
    if (now < 0) return gs_error_set(err, GS_EINVAL, "time before 1970");
    time_t sec = (time_t)(now / 1000);
    pthread_mutex_lock(&g_tz_lock);
    char *saved = push_tz(tz);
    struct tm lt;
    rc = localtime_r(&sec, &lt) ? 0 : GS_EOVERFLOW;
    time_t hs = 0, ds = -1, de = -1, ms = -1, me = -1;
    if (!rc) {
        hs = sec - lt.tm_min * 60 - lt.tm_sec;
        ds = local_midnight(lt.tm_year, lt.tm_mon, lt.tm_mday);
        de = local_midnight(lt.tm_year, lt.tm_mon, lt.tm_mday + 1);
        ms = local_midnight(lt.tm_year, lt.tm_mon, 1);
        me = local_midnight(lt.tm_year, lt.tm_mon + 1, 1);
    }
    pop_tz(saved);
    pthread_mutex_unlock(&g_tz_lock);
    if (rc || ds == (time_t)-1 || de == (time_t)-1 || ms == (time_t)-1 || me == (time_t)-1)
        return gs_error_set(err, GS_EOVERFLOW, "cannot compute periods in timezone '%s'", tz);
    out->start[GS_WIN_HOUR] = (gs_ms)hs * 1000;
    out->end[GS_WIN_HOUR] = ((gs_ms)hs + 3600) * 1000;
    out->start[GS_WIN_DAY] = (gs_ms)ds * 1000;
    out->end[GS_WIN_DAY] = (gs_ms)de * 1000;
    out->start[GS_WIN_MONTH] = (gs_ms)ms * 1000;
    out->end[GS_WIN_MONTH] = (gs_ms)me * 1000;
    for (int w = 0; w < GS_WIN__N; w++)
        if (now < out->start[w] || now >= out->end[w])
            return gs_error_set(err, GS_EINVAL, "timezone '%s': local %s around %lld is ambiguous", tz,
                                gs_window_name((gs_window)w), (long long)now);
    return 0;
}

int gs_tz_date(const char *tz, gs_ms t, char *buf, size_t size, gs_error *err) {
    int rc = gs_tz_check(tz, err);
    if (rc) return rc;
    time_t sec = (time_t)(t >= 0 ? t / 1000 : (t - 999) / 1000);
    pthread_mutex_lock(&g_tz_lock);
    char *saved = push_tz(tz);
    struct tm lt;
    bool ok = localtime_r(&sec, &lt) != NULL;
    pop_tz(saved);
    pthread_mutex_unlock(&g_tz_lock);
    if (!ok) return gs_error_set(err, GS_EOVERFLOW, "time out of range");
    snprintf(buf, size, "%04d-%02d-%02d", lt.tm_year + 1900, lt.tm_mon + 1, lt.tm_mday);
    return 0;
}

int gs_tz_parse_time(const char *tz, const char *s, gs_ms *out, gs_error *err) {
    int rc = gs_tz_check(tz, err);
    if (rc) return rc;
    int y, mo, d, h = 0, mi = 0, se = 0, used = 0;
    size_t n = strlen(s);
    bool utc;
    if (n == 10 && sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &used) == 3 && used == 10) {
        utc = false;
    } else if (n == 20 && sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &se, &used) == 6 &&
               used == 20) {
        utc = true;
    } else {
        return gs_error_set(err, GS_EPARSE, "'%s' is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)", s);
    }
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 ||
        h < 0 || mi < 0 || se < 0)
        return gs_error_set(err, GS_EPARSE, "'%s' is not a valid date", s);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    tm.tm_isdst = -1;
    pthread_mutex_lock(&g_tz_lock);
    char *saved = push_tz(utc ? "UTC" : tz);
    time_t t = mktime(&tm);
    pop_tz(saved);
    pthread_mutex_unlock(&g_tz_lock);
    if (t == (time_t)-1 || tm.tm_mday != d || tm.tm_mon != mo - 1)
        return gs_error_set(err, GS_EPARSE, "'%s' is not a valid date", s);
    *out = (gs_ms)t * 1000;
    return 0;
}
