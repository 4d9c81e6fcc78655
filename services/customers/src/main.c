/* crm-customers: customers and their events (customers, customer_revisions). Wiring only:
 * settings, pools, indexes, routes, the outbox relay, serve, shut down. */
#include "crm/log.h"
#include "crm/service.h"
#include "relay.h"
#include "routes.h"

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
    "CRM_HTTP_MAX_CONNECTIONS_PER_IP",
    "CRM_HTTP_MAX_HEADERS",
    "CRM_SHUTDOWN_GRACE_SECONDS",
    NULL,
};

static int customers_start(crm_service *service)
{
    if (customers_routes_add(service) != 0)
        return 1;
    if (customer_relay_start(service) != 0) {
        CRM_LOG_ERROR("cannot start the outbox relay");
        return 1;
    }
    return 0;
}

static void customers_stop(crm_service *service)
{
    (void)service;
    customer_relay_stop();
}

static const crm_service_spec spec = {
    .name = "customers",
    .settings = settings_used,
    .port_setting = "CRM_CUSTOMERS_PORT",
    .backing = &crm_service_stores,
    .database = "crm_customers",
    .kafka = CRM_SERVICE_KAFKA_PRODUCER,
    .kafka_delivery = customer_relay_delivered,
    .start = customers_start,
    .stop = customers_stop,
};

int main(void)
{
    return crm_service_main(&spec);
}
