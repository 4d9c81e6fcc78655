/* The gateway's state and its route table: for each endpoint, who may call it, which service
 * serves it and which rate limit applies; plus CORS preflights and the answers the gateway gives
 * itself (413, 429) before any service is asked. */
#ifndef GATEWAY_ROUTES_H
#define GATEWAY_ROUTES_H

#include "cors.h"
#include "crm/config.h"
#include "crm/http.h"
#include "crm/metrics.h"
#include "forwarding.h"
#include "proxy.h"
#include "ratelimit.h"
#include "upstreams.h"

#include <stddef.h>

#define GATEWAY_RATE_KEYS 16384 /* clients (or users) each limiter remembers at once */

typedef struct route_binding route_binding;
typedef struct path_binding path_binding;

typedef struct gateway {
    upstreams upstreams;
    forwarding_proxies proxies;
    cors_policy cors;
    ratelimit *auth_limit; /* per client address on the public auth routes; NULL: off */
    ratelimit *api_limit;  /* per user everywhere else; NULL: off */
    proxy *proxy;
    crm_metrics *metrics; /* borrowed from the HTTP server */
    route_binding *routes;
    size_t route_count;
    path_binding *paths;
    size_t path_count;
} gateway;

/* Builds the gateway from `settings` (upstream lists, trusted proxies, CORS origins, limits,
 * timeouts; it must outlive the gateway). Returns NULL with a message naming the setting in `err`
 * on a bad value or when out of memory. Release with gateway_free. */
gateway *gateway_new(const crm_settings *settings, crm_metrics *metrics, char *err, size_t err_len);

/* Accepts NULL. Call after the HTTP server stopped. */
void gateway_free(gateway *gw);

/* Registers every route, an OPTIONS route per path, and the CORS response hook on `server`.
 * Returns 0 or -1. */
int gateway_routes_add(gateway *gw, crm_http_server *server);

#endif
