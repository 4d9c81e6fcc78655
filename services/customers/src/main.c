/* crm-customers: customers and their events (customers). Wiring only: settings, pools, routes,
 * serve, shut down. */
#include "crm/service.h"

static const char *const settings_used[] = {
    "CRM_BIND",
    "CRM_CUSTOMERS_PORT",
    "CRM_MONGO_URI",
    "CRM_JWT_PUBLIC_KEY_FILES",
    "CRM_KAFKA_BROKERS",
    "CRM_KAFKA_PARTITIONS",
    "CRM_LOG_LEVEL",
    "CRM_HTTP_THREADS",
    "CRM_HTTP_CONNECTION_TIMEOUT_SECONDS",
    "CRM_HTTP_MAX_CONNECTIONS",
    "CRM_SHUTDOWN_GRACE_SECONDS",
    NULL,
};

static const crm_service_spec spec = {
    .name = "customers",
    .settings = settings_used,
    .port_setting = "CRM_CUSTOMERS_PORT",
    .database = "crm_customers",
    .kafka = CRM_SERVICE_KAFKA_PRODUCER,
};

int main(void)
{
    return crm_service_main(&spec);
}
