/* crm-gateway: the single entry point of the API. Wiring only: settings, the gateway's state and
 * routes (routes.c, plus the contract and the docs pages), readiness of each upstream group, serve,
 * shut down. */
#include "contract.h"
#include "crm/log.h"
#include "crm/service.h"
#include "docs.h"
#include "routes.h"

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
    "CRM_CORS_ORIGINS",
    "CRM_UPSTREAM_CONNECT_TIMEOUT_MS",
    "CRM_UPSTREAM_TIMEOUT_MS",
    "CRM_LOG_LEVEL",
    "CRM_HTTP_THREADS",
    "CRM_HTTP_CONNECTION_TIMEOUT_SECONDS",
    "CRM_HTTP_MAX_CONNECTIONS",
    "CRM_HTTP_MAX_CONNECTIONS_PER_IP",
    "CRM_HTTP_MAX_HEADERS",
    "CRM_SHUTDOWN_GRACE_SECONDS",
    NULL,
};

/* One service down still leaves the others' routes working: each upstream group is an optional
 * readiness dependency (degraded, not unavailable). */
static int gateway_start(crm_service *service)
{
    char err[256];
    gateway *gw =
        gateway_new(&service->settings, crm_http_server_metrics(service->http), err, sizeof(err));
    if (!gw) {
        CRM_LOG_ERROR("configuration error: %s", err);
        return 2;
    }
    service->context = gw;
    if (gateway_routes_add(gw, service->http) != 0 || contract_routes_add(service->http) != 0 ||
        docs_routes_add(service->http) != 0) {
        CRM_LOG_ERROR("cannot register the routes");
        return 1;
    }
    crm_http_server_add_readiness(service->http, "auth", upstream_group_ready, &gw->upstreams.auth,
                                  0);
    crm_http_server_add_readiness(service->http, "customers", upstream_group_ready,
                                  &gw->upstreams.customers, 0);
    crm_http_server_add_readiness(service->http, "cases", upstream_group_ready,
                                  &gw->upstreams.cases, 0);
    return 0;
}

static void gateway_stop(crm_service *service)
{
    gateway_free(service->context);
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
