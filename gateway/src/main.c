/* crm-gateway: the single entry point of the API. Wiring only: settings, upstreams, routes,
 * serve, shut down. */
#include "crm/log.h"
#include "crm/service.h"
#include "upstreams.h"

#include <stdlib.h>

static const char *const settings_used[] = {
    "CRM_BIND",
    "CRM_GATEWAY_PORT",
    "CRM_AUTH_PORT",
    "CRM_CUSTOMERS_PORT",
    "CRM_CASES_PORT",
    "CRM_AUTH_URL",
    "CRM_CUSTOMERS_URL",
    "CRM_CASES_URL",
    "CRM_JWT_PUBLIC_KEY_FILES",
    "CRM_RATE_AUTH_PER_MINUTE",
    "CRM_RATE_API_PER_SECOND",
    "CRM_TRUSTED_PROXIES",
    "CRM_LOG_LEVEL",
    "CRM_HTTP_THREADS",
    "CRM_HTTP_CONNECTION_TIMEOUT_SECONDS",
    "CRM_HTTP_MAX_CONNECTIONS",
    "CRM_SHUTDOWN_GRACE_SECONDS",
    NULL,
};

/* Upstream groups from CRM_*_URL, each a readiness dependency. One service down still leaves
 * the others' routes working: degraded, not unavailable. */
static int gateway_start(crm_service *service)
{
    char err[256];
    upstreams *all = calloc(1, sizeof(*all));
    if (!all)
        return 1;
    service->context = all;
    if (upstreams_init(all, &service->settings, err, sizeof(err)) != 0) {
        CRM_LOG_ERROR("configuration error: %s", err);
        return 2;
    }
    crm_http_server_add_readiness(service->http, "auth", upstream_group_ready, &all->auth, 0);
    crm_http_server_add_readiness(service->http, "customers", upstream_group_ready, &all->customers,
                                  0);
    crm_http_server_add_readiness(service->http, "cases", upstream_group_ready, &all->cases, 0);
    return 0;
}

static void gateway_stop(crm_service *service)
{
    upstreams_clean(service->context);
    free(service->context);
    service->context = NULL;
}

static const crm_service_spec spec = {
    .name = "gateway",
    .settings = settings_used,
    .port_setting = "CRM_GATEWAY_PORT",
    .start = gateway_start,
    .stop = gateway_stop,
};

int main(void)
{
    return crm_service_main(&spec);
}
