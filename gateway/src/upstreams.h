/* The services behind the gateway: one group per service, each a list of instances picked
 * round-robin, where an instance that refused a connection sits out a short cool-down. */
#ifndef GATEWAY_UPSTREAMS_H
#define GATEWAY_UPSTREAMS_H

#include "crm/config.h"

#include <stdatomic.h>
#include <stddef.h>

#define UPSTREAM_MAX_INSTANCES 16
#define UPSTREAM_COOLDOWN_MS   1000 /* how long an instance that refused is skipped */

typedef struct upstream_instance {
    char *url;                         /* base URL without a trailing slash, owned */
    char *authority;                   /* "host:port" as in the URL: the Host header, owned */
    char *host;                        /* what to resolve (no IPv6 brackets), owned */
    char port[8];                      /* "80" when the URL names none */
    const char *prefix;                /* the URL's path ("" or "/base"), inside url */
    _Atomic long long unhealthy_until; /* monotonic milliseconds; skipped before that */
} upstream_instance;

typedef struct upstream_group {
    const char *name; /* "auth", "customers", "cases": metrics labels and log lines */
    upstream_instance instances[UPSTREAM_MAX_INSTANCES];
    size_t count;
    atomic_uint next; /* round-robin cursor */
} upstream_group;

typedef struct upstreams {
    upstream_group auth, customers, cases;
} upstreams;

/* Fills the address parts of `instance` from its url ("http://host[:port][/prefix]").
 * Returns 0, or -1 when the URL is not of that form or out of memory. */
int upstream_instance_parse(upstream_instance *instance);

/* Splits the CRM_*_URL comma lists of `settings`. Returns 0, or -1 with a message naming the
 * variable in `err`. Release with upstreams_clean. */
int upstreams_init(upstreams *all, const crm_settings *settings, char *err, size_t err_len);
void upstreams_clean(upstreams *all);

/* Fills `order` with the instances of `group` in the order to try them for one request: the
 * healthy ones from the next round-robin position, then those cooling down after a refusal;
 * `now_ms` is the monotonic clock in milliseconds. Returns how many (0 only for an empty group).
 * Thread-safe. */
size_t upstream_group_pick(upstream_group *group, long long now_ms,
                           upstream_instance *order[UPSTREAM_MAX_INSTANCES]);

/* Makes `instance` sit out UPSTREAM_COOLDOWN_MS from `now_ms`. Thread-safe. */
void upstream_instance_mark_down(upstream_instance *instance, long long now_ms);

/* The monotonic clock in milliseconds, as the two functions above expect it. */
long long upstream_now_ms(void);

/* Readiness check for one group (fits crm_readiness_check): 1 when at least one instance's
 * /healthz answers 200 within 500 ms. Liveness, not readiness: an instance's own /readyz speaks
 * for its database, and waiting on it would make the gateway's probe as slow as the slowest. */
int upstream_group_ready(void *group);

#endif
