/* Start-up work against the database: indexes and the bootstrap admin, before any request. */
#include "bootstrap.h"

#include "crm/log.h"
#include "crm/util.h"
#include "passwords.h"
#include "store.h"

#include <stdio.h>
#include <string.h>

/* Creates the configured admin if absent; never changes an existing account. */
static int bootstrap_admin(crm_service *service)
{
    const crm_settings *s = &service->settings;
    user u = {0};
    char hash[PASSWORD_HASH_MAX];
    int status = 2;

    if (username_normalize(s->bootstrap_admin_username, u.username) != 0) {
        CRM_LOG_ERROR("configuration error: CRM_BOOTSTRAP_ADMIN_USERNAME is not a valid username");
        return 2;
    }
    for (;;) {
        crm_store_status found = user_store_find_by_username(service->mongo, u.username, &u);
        if (found == CRM_STORE_OK) {
            if (strcmp(u.role, "admin") == 0) {
                status = 0;
            } else {
                CRM_LOG_ERROR("configuration error: CRM_BOOTSTRAP_ADMIN_USERNAME names the "
                              "existing user %s, who is not an admin; refusing to start",
                              u.username);
            }
            goto done;
        }
        if (found != CRM_STORE_NOT_FOUND) {
            status = 1;
            goto done;
        }
        size_t length = strlen(s->bootstrap_admin_password);
        if (length < 8 || length > 128) {
            CRM_LOG_ERROR("configuration error: CRM_BOOTSTRAP_ADMIN_PASSWORD must be 8 to 128 "
                          "characters to create the admin %s",
                          u.username);
            goto done;
        }
        if (password_hash(s->bootstrap_admin_password, hash) != 0) {
            status = 1;
            goto done;
        }
        u.password_hash = strdup(hash);
        snprintf(u.role, sizeof(u.role), "admin");
        u.created_at = u.updated_at = crm_time_now_ms();
        u.version = 1;
        crm_store_status inserted = user_store_insert(service->mongo, &u);
        if (inserted == CRM_STORE_OK) {
            CRM_LOG_INFO("bootstrap admin %s created", u.username);
            status = 0;
            goto done;
        }
        if (inserted != CRM_STORE_DUPLICATE) { /* another replica may have won: look again */
            status = 1;
            goto done;
        }
        user_clean(&u);
    }
done:
    user_clean(&u);
    return status;
}

int auth_bootstrap(crm_service *service)
{
    if (crm_service_wait_database(service, auth_store_prepare) != 0)
        return 0; /* stopping: serving ends at once on the pending signal */
    return bootstrap_admin(service);
}
