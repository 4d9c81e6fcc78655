/* The services behind the gateway: one group per service, each a list of instance base URLs. */
#ifndef GATEWAY_UPSTREAMS_H
#define GATEWAY_UPSTREAMS_H

#include "crm/config.h"

#include <stddef.h>

#define UPSTREAM_MAX_INSTANCES 16

typedef struct upstream_group {
    const char *name; /* "auth", "customers", "cases" */
    char *urls[UPSTREAM_MAX_INSTANCES];
    size_t count;
} upstream_group;

typedef struct upstreams {
    upstream_group auth, customers, cases;
} upstreams;

/* Splits the CRM_*_URL comma lists of `settings`. Returns 0, or -1 with a message naming the
 * variable in `err`. Release with upstreams_clean. */
int upstreams_init(upstreams *all, const crm_settings *settings, char *err, size_t err_len);
void upstreams_clean(upstreams *all);

/* Readiness check for one group (fits crm_readiness_check): 1 when at least one instance's
 * /healthz answers 200 within 500 ms. Liveness, not readiness: an instance's own /readyz speaks
 * for its database, and waiting on it would make the gateway's probe as slow as the slowest. */
int upstream_group_ready(void *group);

#endif
