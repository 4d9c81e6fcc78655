/* The route table and handlers of routes.h. Roles are the services' business: the gateway only
 * demands a valid token where the API does, so a forged or expired one never reaches a service. */
#include "routes.h"

#include "crm/log.h"
#include "crm/problem.h"
#include "crm/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ulfius.h>

typedef enum route_service {
    SERVICE_AUTH,
    SERVICE_CUSTOMERS,
    SERVICE_CASES,
} route_service;

/* The bucket a request takes its token from. */
typedef enum route_limit {
    LIMIT_CLIENT_AUTH, /* per client address: CRM_RATE_AUTH_PER_MINUTE */
    LIMIT_USER,        /* per user (the token's sub): CRM_RATE_API_PER_SECOND */
    LIMIT_CLIENT_API,  /* a public read, per client address: CRM_RATE_API_PER_SECOND */
} route_limit;

typedef struct gateway_route {
    const char *method;
    const char *pattern;
    route_service service;
    route_limit limit;
    crm_access access;
} gateway_route;

#define AUTH      SERVICE_AUTH
#define CUSTOMERS SERVICE_CUSTOMERS
#define CASES     SERVICE_CASES
#define PUBLIC    CRM_ACCESS_PUBLIC
#define SIGNED_IN CRM_ACCESS_AUTHENTICATED

static const gateway_route route_table[] = {
    {"POST", "/api/auth/register", AUTH, LIMIT_CLIENT_AUTH, PUBLIC},
    {"POST", "/api/auth/login", AUTH, LIMIT_CLIENT_AUTH, PUBLIC},
    {"POST", "/api/auth/refresh", AUTH, LIMIT_CLIENT_AUTH, PUBLIC},
    {"POST", "/api/auth/logout", AUTH, LIMIT_CLIENT_AUTH, PUBLIC},
    {"GET", "/api/auth/jwks.json", AUTH, LIMIT_CLIENT_API, PUBLIC},
    {"GET", "/api/auth/me", AUTH, LIMIT_USER, SIGNED_IN},
    {"GET", "/api/users", AUTH, LIMIT_USER, SIGNED_IN},
    {"GET", "/api/users/:id", AUTH, LIMIT_USER, SIGNED_IN},
    {"PATCH", "/api/users/:id", AUTH, LIMIT_USER, SIGNED_IN},
    {"GET", "/api/customers", CUSTOMERS, LIMIT_USER, SIGNED_IN},
    {"POST", "/api/customers", CUSTOMERS, LIMIT_USER, SIGNED_IN},
    {"GET", "/api/customers/:id", CUSTOMERS, LIMIT_USER, SIGNED_IN},
    {"PATCH", "/api/customers/:id", CUSTOMERS, LIMIT_USER, SIGNED_IN},
    {"DELETE", "/api/customers/:id", CUSTOMERS, LIMIT_USER, SIGNED_IN},
    {"GET", "/api/customers/:id/cases", CASES, LIMIT_USER, SIGNED_IN},
    {"GET", "/api/cases", CASES, LIMIT_USER, SIGNED_IN},
    {"POST", "/api/cases", CASES, LIMIT_USER, SIGNED_IN},
    {"GET", "/api/cases/:id", CASES, LIMIT_USER, SIGNED_IN},
    {"PATCH", "/api/cases/:id", CASES, LIMIT_USER, SIGNED_IN},
    {"DELETE", "/api/cases/:id", CASES, LIMIT_USER, SIGNED_IN},
};

#define ROUTE_COUNT (sizeof(route_table) / sizeof(route_table[0]))

struct route_binding {
    gateway *gw;
    const gateway_route *route;
    upstream_group *group;
};

/* One per distinct pattern: what its preflight and OPTIONS answers list. */
struct path_binding {
    gateway *gw;
    const char *pattern;
    char methods[64]; /* "GET, PATCH, DELETE" */
    char allow[80];   /* the same plus OPTIONS */
};

/* ---- state ---- */

gateway *gateway_new(const crm_settings *settings, crm_metrics *metrics, char *err, size_t err_len)
{
    gateway *gw = calloc(1, sizeof(*gw));
    if (!gw)
        goto out_of_memory;
    gw->metrics = metrics;
    if (upstreams_init(&gw->upstreams, settings, err, err_len) != 0 ||
        forwarding_proxies_parse(&gw->proxies, settings->trusted_proxies, err, err_len) != 0 ||
        cors_policy_init(&gw->cors, settings->cors_origins, err, err_len) != 0)
        goto fail;
    long per_minute = settings->rate_auth_per_minute, per_second = settings->rate_api_per_second;
    if (per_minute > 0 &&
        !(gw->auth_limit = ratelimit_new((double)per_minute / 60.0, per_minute, GATEWAY_RATE_KEYS)))
        goto out_of_memory;
    if (per_second > 0 &&
        !(gw->api_limit = ratelimit_new((double)per_second, 2 * per_second, GATEWAY_RATE_KEYS)))
        goto out_of_memory;
    if (!(gw->proxy = proxy_new(settings, metrics)))
        goto out_of_memory;
    return gw;
out_of_memory:
    snprintf(err, err_len, "out of memory");
fail:
    gateway_free(gw);
    return NULL;
}

void gateway_free(gateway *gw)
{
    if (!gw)
        return;
    free(gw->paths);
    free(gw->routes);
    proxy_free(gw->proxy);
    ratelimit_free(gw->api_limit);
    ratelimit_free(gw->auth_limit);
    cors_policy_clean(&gw->cors);
    upstreams_clean(&gw->upstreams);
    free(gw);
}

/* ---- handlers ---- */

/* Takes a token for the request; returns 0 when its route is not limited (the limit is off). */
static int limit_take(gateway *gw, route_limit kind, const char *client, ratelimit_result *result)
{
    char key[96], address[FORWARDING_ADDRESS_LEN];
    ratelimit *limiter = kind == LIMIT_CLIENT_AUTH ? gw->auth_limit : gw->api_limit;
    const crm_principal *principal = crm_http_principal();
    if (!limiter)
        return 0;
    if (kind == LIMIT_USER && principal) {
        snprintf(key, sizeof(key), "user:%s", principal->sub);
    } else {
        forwarding_rate_key(client, address, sizeof(address));
        snprintf(key, sizeof(key), "ip:%s", address);
    }
    if (!ratelimit_take(limiter, key, crm_monotonic_seconds(), result))
        crm_metrics_counter_add_labelled(
            gw->metrics, "crm_gateway_rate_limited_total",
            "Requests refused with 429 by the gateway.",
            kind == LIMIT_CLIENT_AUTH ? "limit=\"auth\"" : "limit=\"api\"", 1);
    return 1;
}

static void limit_headers(struct _u_response *response, const ratelimit_result *result)
{
    char value[24];
    snprintf(value, sizeof(value), "%ld", result->limit);
    u_map_put(response->map_header, "RateLimit-Limit", value);
    snprintf(value, sizeof(value), "%ld", result->remaining);
    u_map_put(response->map_header, "RateLimit-Remaining", value);
    snprintf(value, sizeof(value), "%ld", result->reset_seconds);
    u_map_put(response->map_header, "RateLimit-Reset", value);
    if (!result->allowed) {
        snprintf(value, sizeof(value), "%ld", result->retry_after_seconds);
        u_map_put(response->map_header, "Retry-After", value);
    }
}

/* ulfius truncates a body past max_post_body_size (the limit + 1) without telling. */
static int body_too_large(const struct _u_request *request)
{
    const char *length = u_map_get_case(request->map_header, "Content-Length");
    return request->binary_body_length > CRM_HTTP_MAX_BODY ||
           (length && strtoull(length, NULL, 10) > (unsigned long long)CRM_HTTP_MAX_BODY);
}

/* An origin-form request target that goes upstream unchanged: "/", then visible ASCII without a
 * fragment. */
static int target_valid(const char *target)
{
    if (!target || target[0] != '/')
        return 0;
    for (const unsigned char *p = (const unsigned char *)target; *p; p++) {
        if (*p <= 0x20 || *p >= 0x7f || *p == '#')
            return 0;
    }
    return 1;
}

static int handle_forward(const struct _u_request *request, struct _u_response *response,
                          void *user_data)
{
    const route_binding *binding = user_data;
    gateway *gw = binding->gw;
    char peer[FORWARDING_ADDRESS_LEN], client[FORWARDING_ADDRESS_LEN];
    ratelimit_result limit;

    forwarding_peer_address(request->client_address, peer, sizeof(peer));
    int trusted = forwarding_proxies_contains(&gw->proxies, peer);
    const char *incoming = u_map_get_case(request->map_header, "X-Forwarded-For");
    forwarding_client_address(&gw->proxies, peer, incoming, client, sizeof(client));
    int limited = limit_take(gw, binding->route->limit, client, &limit);

    if (limited && !limit.allowed) {
        crm_problem_send(response, CRM_PROBLEM_RATE_LIMITED,
                         "more than %ld requests in a burst; retry in %ld s", limit.limit,
                         limit.retry_after_seconds);
    } else if (body_too_large(request)) {
        crm_problem_send(response, CRM_PROBLEM_PAYLOAD_TOO_LARGE, "bodies are limited to %d bytes",
                         CRM_HTTP_MAX_BODY);
    } else if (!target_valid(request->http_url)) {
        crm_problem_send(response, CRM_PROBLEM_MALFORMED_REQUEST, "malformed request target");
    } else {
        char *forwarded_for = forwarding_for_header(peer, trusted, incoming);
        proxy_request forward = {request, forwarded_for, trusted};
        if (forwarded_for)
            proxy_forward(gw->proxy, binding->group, &forward, response);
        else
            crm_problem_send(response, CRM_PROBLEM_INTERNAL, "out of memory");
        free(forwarded_for);
    }
    if (limited) /* after the upstream's headers, so the gateway's numbers stand */
        limit_headers(response, &limit);
    return U_CALLBACK_COMPLETE;
}

/* OPTIONS on a known path: 204 with Allow; a CORS preflight from an allowed origin also gets
 * the Access-Control-Allow-* headers. An unlisted origin gets the plain 204, which a browser
 * treats as a refused preflight: the gateway reveals nothing and needs no 403. */
static int handle_preflight(const struct _u_request *request, struct _u_response *response,
                            void *user_data)
{
    const path_binding *path = user_data;
    ulfius_set_empty_body_response(response, 204);
    u_map_put(response->map_header, "Allow", path->allow);
    cors_preflight_decorate(&path->gw->cors, request, response, path->methods);
    return U_CALLBACK_COMPLETE;
}

static void decorate(const struct _u_request *request, struct _u_response *response, void *context)
{
    const gateway *gw = context;
    cors_response_decorate(&gw->cors, request, response);
}

/* ---- registration ---- */

static upstream_group *group_of(gateway *gw, route_service service)
{
    switch (service) {
    case SERVICE_AUTH:
        return &gw->upstreams.auth;
    case SERVICE_CUSTOMERS:
        return &gw->upstreams.customers;
    default:
        return &gw->upstreams.cases;
    }
}

static path_binding *path_of(gateway *gw, const char *pattern)
{
    for (size_t i = 0; i < gw->path_count; i++) {
        if (strcmp(gw->paths[i].pattern, pattern) == 0)
            return &gw->paths[i];
    }
    path_binding *path = &gw->paths[gw->path_count++];
    path->gw = gw;
    path->pattern = pattern;
    return path;
}

int gateway_routes_add(gateway *gw, crm_http_server *server)
{
    int status = -1;
    crm_route *routes = calloc(ROUTE_COUNT, sizeof(*routes));
    crm_route *preflights = calloc(ROUTE_COUNT, sizeof(*preflights));
    gw->routes = calloc(ROUTE_COUNT, sizeof(*gw->routes));
    gw->paths = calloc(ROUTE_COUNT, sizeof(*gw->paths));
    if (!routes || !preflights || !gw->routes || !gw->paths)
        goto done;
    for (size_t i = 0; i < ROUTE_COUNT; i++) {
        const gateway_route *line = &route_table[i];
        route_binding *binding = &gw->routes[i];
        *binding = (route_binding){gw, line, group_of(gw, line->service)};
        routes[i] = (crm_route){line->method, line->pattern, handle_forward, binding, line->access};
        path_binding *path = path_of(gw, line->pattern);
        size_t used = strlen(path->methods);
        snprintf(path->methods + used, sizeof(path->methods) - used, "%s%s", used ? ", " : "",
                 line->method);
    }
    gw->route_count = ROUTE_COUNT;
    for (size_t i = 0; i < gw->path_count; i++) {
        path_binding *path = &gw->paths[i];
        snprintf(path->allow, sizeof(path->allow), "%s, OPTIONS", path->methods);
        preflights[i] = (crm_route){"OPTIONS", path->pattern, handle_preflight, path, PUBLIC};
    }
    if (crm_http_server_add_routes(server, routes, ROUTE_COUNT) != 0 ||
        crm_http_server_add_routes(server, preflights, gw->path_count) != 0)
        goto done;
    crm_http_server_set_response_hook(server, decorate, gw);
    status = 0;
done:
    free(preflights);
    free(routes);
    return status;
}
