/* crm-gateway: the single entry point of the API. Wiring only: settings, upstreams, routes,
 * serve, shut down. */
#include "crm/log.h"
#include "crm/service.h"
#include "upstreams.h"

#include <curl/curl.h>

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

static const crm_service_spec spec = {
    .name = "gateway",
    .settings = settings_used,
    .port_setting = "CRM_GATEWAY_PORT",
};

int main(void)
{
    crm_service service;
    upstreams all = {0};
    char err[256];
    int status = 1;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (crm_service_open(&service, &spec) != 0)
        goto done;
    if (upstreams_init(&all, &service.settings, err, sizeof(err)) != 0) {
        CRM_LOG_ERROR("configuration error: %s", err);
        status = 2;
        goto done;
    }
    /* One service down still leaves the others' routes working: degraded, not unavailable. */
    crm_http_server_add_readiness(service.http, "auth", upstream_group_ready, &all.auth, 0);
    crm_http_server_add_readiness(service.http, "customers", upstream_group_ready, &all.customers,
                                  0);
    crm_http_server_add_readiness(service.http, "cases", upstream_group_ready, &all.cases, 0);
    status = crm_service_serve(&service);
done:
    crm_service_clean(&service);
    upstreams_clean(&all);
    curl_global_cleanup();
    return status;
}
