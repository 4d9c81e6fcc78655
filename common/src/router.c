/* Pattern matching of router.h. */
#include "crm/router.h"

#include <string.h>

/* The next non-empty segment at or after *p: its start and length; 0 at the end. */
static size_t next_segment(const char **p, const char **start)
{
    while (**p == '/')
        (*p)++;
    *start = *p;
    while (**p && **p != '/')
        (*p)++;
    return (size_t)(*p - *start);
}

int crm_router_match(const char *pattern, const char *path, crm_router_params *params)
{
    const char *want, *got;
    params->count = 0;
    for (;;) {
        size_t want_len = next_segment(&pattern, &want);
        size_t got_len = next_segment(&path, &got);
        if (want_len == 0 || got_len == 0)
            return want_len == got_len;
        if (want[0] == ':') {
            if (params->count == CRM_ROUTER_MAX_PARAMS)
                return 0;
            params->items[params->count++] =
                (crm_router_param){want + 1, want_len - 1, got, got_len};
        } else if (want_len != got_len || memcmp(want, got, want_len) != 0) {
            return 0;
        }
    }
}
