/* crm-cases: support cases (cases, case_revisions, deleted_customers) and the customer-deletion
 * cascade. Wiring only: settings, pools, indexes, routes, the consumer, serve, shut down. */
#include "crm/kafka.h"
#include "crm/log.h"
#include "crm/service.h"
#include "events.h"
#include "routes.h"
#include "store.h"

static const char *const settings_used[] = {
    "CRM_BIND",
    "CRM_CASES_PORT",
    "CRM_MONGO_URI",
    "CRM_JWT_PUBLIC_KEY_FILES",
    "CRM_KAFKA_BROKERS",
    "CRM_AUTH_PORT",
    "CRM_AUTH_URL",
    "CRM_CUSTOMERS_PORT",
    "CRM_CUSTOMERS_URL",
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

static int cases_start(crm_service *service)
{
    if (crm_service_wait_database(service, cases_store_prepare) != 0)
        return 0; /* stopping: serving ends at once on the pending signal */
    if (cases_routes_add(service) != 0)
        return 1;
    return cases_events_start(service) == 0 ? 0 : 1;
}

static void cases_stop(crm_service *service)
{
    (void)service;
    cases_events_stop();
    cases_routes_clean();
}

static const crm_service_spec spec = {
    .name = "cases",
    .settings = settings_used,
    .port_setting = "CRM_CASES_PORT",
    .backing = &crm_service_stores,
    .database = "crm_cases",
    .kafka = CRM_SERVICE_KAFKA_CONSUMER,
    .kafka_group = CRM_KAFKA_GROUP_CASES,
    .start = cases_start,
    .stop = cases_stop,
};

int main(void)
{
    return crm_service_main(&spec);
}
