/* Route patterns against request paths, as the HTTP server dispatches: a pattern is literal
 * segments and ":name" segments ("/api/customers/:id/cases"), compared segment by segment with
 * empty segments skipped (so "/api//customers/" is "/api/customers"), literals exactly. One walk
 * over both strings, no allocation: ulfius's own matcher splits every registered pattern again on
 * every request. */
#ifndef CRM_ROUTER_H
#define CRM_ROUTER_H

#include <stddef.h>

#define CRM_ROUTER_MAX_PARAMS 4

typedef struct crm_router_param {
    const char *name; /* inside the pattern, after the ':' */
    size_t name_len;
    const char *value; /* inside the path */
    size_t value_len;
} crm_router_param;

typedef struct crm_router_params {
    crm_router_param items[CRM_ROUTER_MAX_PARAMS];
    size_t count;
} crm_router_params;

/* Whether `path` (no query) matches `pattern`; on a match `params` holds the ":name" segments'
 * values in pattern order. A pattern with more than CRM_ROUTER_MAX_PARAMS parameters never
 * matches. */
int crm_router_match(const char *pattern, const char *path, crm_router_params *params);

#endif
