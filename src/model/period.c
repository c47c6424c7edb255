#include "model/period.h"

const char *gs_window_name(gs_window w) {
    switch (w) {
    case GS_WIN_HOUR: return "hour";
    case GS_WIN_DAY: return "day";
    case GS_WIN_MONTH: return "month";
    case GS_WIN__N: break;
    }
    return "?";
}
