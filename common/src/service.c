/* Wiring in a fixed order for every executable, so each main.c stays a page long. */
#include "crm/service.h"

#include "crm/log.h"
#include "crm/shutdown.h"

#include <signal.h>
#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reads_setting(const crm_service_spec *spec, const char *name)
{
    for (size_t i = 0; spec->settings && spec->settings[i]; i++) {
        if (strcmp(spec->settings[i], name) == 0)
            return 1;
    }
    return 0;
}

int crm_service_open(crm_service *service, const crm_service_spec *spec)
{
    char err[256];
    memset(service, 0, sizeof(*service));
    service->spec = *spec;
    crm_shutdown_block_signals();
    crm_settings_load_or_exit(&service->settings, spec->settings);
    crm_log_init(spec->name, (crm_log_level)service->settings.log_level);
    if (reads_setting(spec, "CRM_JWT_PUBLIC_KEY_FILES") &&
        crm_jwt_keyring_load(&service->keys, service->settings.jwt_public_key_files, err,
                             sizeof(err)) != 0) {
        CRM_LOG_ERROR("configuration error: CRM_JWT_PUBLIC_KEY_FILES: %s", err);
        exit(2);
    }

    service->http =
        crm_http_server_new(&service->settings, spec->name,
                            crm_settings_get_long(&service->settings, spec->port_setting));
    if (!service->http) {
        CRM_LOG_ERROR("cannot create the HTTP server");
        return -1;
    }
    crm_http_server_set_keyring(service->http, &service->keys);
    return spec->backing ? spec->backing->open(service) : 0;
}

int crm_service_serve(crm_service *service)
{
    if (crm_http_server_start(service->http) != 0)
        return 1;
    CRM_LOG_INFO("ready");
    int signal_number = crm_shutdown_wait();
    CRM_LOG_INFO("signal %d: draining in-flight requests", signal_number);
    crm_http_server_stop(service->http, service->settings.shutdown_grace_seconds);
    CRM_LOG_INFO("stopped");
    return 0;
}

void crm_service_clean(crm_service *service)
{
    crm_http_server_free(service->http);
    service->http = NULL;
    if (service->spec.backing)
        service->spec.backing->close(service);
    crm_jwt_keyring_clean(&service->keys);
    crm_settings_clean(&service->settings);
}

static int stop_pending(void)
{
    sigset_t pending;
    sigpending(&pending);
    return sigismember(&pending, SIGTERM) || sigismember(&pending, SIGINT);
}

int crm_service_wait_database(crm_service *service, crm_store_status (*prepare)(crm_mongo *))
{
    int warned = 0;
    while (prepare(service->mongo) != CRM_STORE_OK) {
        if (stop_pending())
            return 1;
        if (!warned++)
            CRM_LOG_WARN("waiting for MongoDB before accepting requests");
        usleep(200000);
    }
    return 0;
}

int crm_service_main(const crm_service_spec *spec)
{
    crm_service service;
    int status = 1;
    int started = 0;

    if (crm_service_open(&service, spec) != 0)
        goto done;
    started = 1; /* stop runs after a failed start too, to release what start made */
    if (spec->start && (status = spec->start(&service)) != 0)
        goto done;
    status = crm_service_serve(&service);
done:
    if (started && spec->stop)
        spec->stop(&service);
    crm_service_clean(&service);
    return status;
}
