/* crm-auth: accounts and tokens (users, refresh_tokens). Wiring only: settings, pools, routes,
 * serve, shut down. */
#include "crm/service.h"

static const char *const settings_used[] = {
    "CRM_BIND",
    "CRM_AUTH_PORT",
    "CRM_MONGO_URI",
    "CRM_JWT_PUBLIC_KEY_FILES",
    "CRM_JWT_PRIVATE_KEY_FILE",
    "CRM_JWT_TTL_SECONDS",
    "CRM_REFRESH_TTL_SECONDS",
    "CRM_BOOTSTRAP_ADMIN_USERNAME",
    "CRM_BOOTSTRAP_ADMIN_PASSWORD",
    "CRM_LOG_LEVEL",
    "CRM_HTTP_THREADS",
    "CRM_HTTP_CONNECTION_TIMEOUT_SECONDS",
    "CRM_HTTP_MAX_CONNECTIONS",
    "CRM_SHUTDOWN_GRACE_SECONDS",
    NULL,
};

static const crm_service_spec spec = {
    .name = "auth",
    .settings = settings_used,
    .port_setting = "CRM_AUTH_PORT",
    .database = "crm_auth",
    .kafka = CRM_SERVICE_KAFKA_NONE,
};

int main(void)
{
    return crm_service_main(&spec);
}
