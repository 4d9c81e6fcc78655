/* crm-auth: accounts and tokens (users, refresh_tokens, login_failures). Wiring only: settings,
 * keys, pools, the bootstrap admin, routes, serve, shut down. */
#include "bootstrap.h"
#include "crm/log.h"
#include "crm/service.h"
#include "passwords.h"
#include "routes.h"
#include "tokens.h"

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
    "CRM_PASSWORD_HASH_MEMORY_KIB",
    "CRM_PASSWORD_HASH_PASSES",
    "CRM_PASSWORD_HASH_CONCURRENCY",
    "CRM_LOG_LEVEL",
    "CRM_HTTP_THREADS",
    "CRM_HTTP_CONNECTION_TIMEOUT_SECONDS",
    "CRM_HTTP_MAX_CONNECTIONS",
    "CRM_HTTP_MAX_CONNECTIONS_PER_IP",
    "CRM_HTTP_MAX_HEADERS",
    "CRM_SHUTDOWN_GRACE_SECONDS",
    NULL,
};

static int auth_start(crm_service *service)
{
    const crm_settings *s = &service->settings;
    char err[256];
    if (tokens_init(s->jwt_private_key_file, &service->keys, s->jwt_ttl_seconds, err,
                    sizeof(err)) != 0) {
        CRM_LOG_ERROR("configuration error: %s", err);
        return 2;
    }
    if (passwords_init(s->password_hash_memory_kib, s->password_hash_passes,
                       s->password_hash_concurrency) != 0) {
        CRM_LOG_ERROR("cannot initialise password hashing");
        return 1;
    }
    int status = auth_bootstrap(service);
    if (status != 0)
        return status;
    return auth_routes_add(service) == 0 ? 0 : 1;
}

static void auth_stop(crm_service *service)
{
    (void)service;
    passwords_clean();
    tokens_clean();
}

static const crm_service_spec spec = {
    .name = "auth",
    .settings = settings_used,
    .port_setting = "CRM_AUTH_PORT",
    .backing = &crm_service_stores,
    .database = "crm_auth",
    .start = auth_start,
    .stop = auth_stop,
};

int main(void)
{
    return crm_service_main(&spec);
}
