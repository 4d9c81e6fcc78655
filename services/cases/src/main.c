/* crm-cases: support cases (cases) and the customer-deletion cascade. Wiring only: settings, pools,
 * routes, serve, shut down. */
#include "crm/kafka.h"
#include "crm/service.h"

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
    "CRM_LOG_LEVEL",
    "CRM_HTTP_THREADS",
    "CRM_HTTP_CONNECTION_TIMEOUT_SECONDS",
    "CRM_HTTP_MAX_CONNECTIONS",
    "CRM_SHUTDOWN_GRACE_SECONDS",
    NULL,
};

static const crm_service_spec spec = {
    .name = "cases",
    .settings = settings_used,
    .port_setting = "CRM_CASES_PORT",
    .database = "crm_cases",
    .kafka = CRM_SERVICE_KAFKA_CONSUMER,
    .kafka_group = CRM_KAFKA_GROUP_CASES,
};

int main(void)
{
    return crm_service_main(&spec);
}
