/* The fixed life of every executable: settings and logs, pools, routes, serve until SIGTERM or
 * SIGINT, then tear down in reverse order. Each main.c fills a spec, adds its routes, serves. */
#ifndef CRM_SERVICE_H
#define CRM_SERVICE_H

#include "crm/config.h"
#include "crm/http.h"
#include "crm/jwt.h"
#include "crm/kafka.h"
#include "crm/mongo.h"

#include <librdkafka/rdkafka.h>

typedef enum crm_service_kafka {
    CRM_SERVICE_KAFKA_NONE = 0,
    CRM_SERVICE_KAFKA_PRODUCER, /* an idempotent producer; the topic is created at start */
    CRM_SERVICE_KAFKA_CONSUMER, /* a consumer in `kafka_group` */
} crm_service_kafka;

typedef struct crm_service crm_service;

/* What opens and closes a service's MongoDB pool and Kafka client (service_stores.c, library
 * crm_stores). A pointer in the spec, so an executable without them (the gateway) links neither
 * libmongoc nor librdkafka. */
typedef struct crm_service_backing {
    int (*open)(crm_service *service);   /* 0, or -1 after logging why */
    void (*close)(crm_service *service); /* accepts a partly opened service */
} crm_service_backing;

/* MongoDB (spec.database) and Kafka (spec.kafka): what the three services use. */
extern const crm_service_backing crm_service_stores;

typedef struct crm_service_spec {
    const char *name;                   /* "customers": log lines, metrics, client ids */
    const char *const *settings;        /* NULL-terminated CRM_* names the process reads */
    const char *port_setting;           /* "CRM_CUSTOMERS_PORT" */
    const crm_service_backing *backing; /* &crm_service_stores, or NULL: no database, no Kafka */
    const char *database;               /* "crm_customers", or NULL for no MongoDB */
    crm_service_kafka kafka;
    const char *kafka_group; /* for CRM_SERVICE_KAFKA_CONSUMER */
    /* Optional, for CRM_SERVICE_KAFKA_PRODUCER: the delivery-report callback, run by whichever
     * thread calls rd_kafka_poll on service->kafka (the outbox relay). */
    crm_kafka_delivery_cb kafka_delivery;
    /* Optional: after the pools open, before serving: routes, readiness checks, own state.
     * Returns 0, or the exit status to stop with. */
    int (*start)(crm_service *service);
    /* Optional: after the HTTP server drained (or start failed), before the pools close. */
    void (*stop)(crm_service *service);
} crm_service_spec;

struct crm_service {
    crm_service_spec spec;
    crm_settings settings;
    crm_jwt_keyring keys; /* loaded when the spec reads CRM_JWT_PUBLIC_KEY_FILES */
    crm_mongo *mongo;     /* NULL without a database */
    rd_kafka_t *kafka;    /* NULL without Kafka */
    crm_http_server *http;
    void *context; /* the executable's own state, owned by its start/stop */
};

/* Loads the settings and the JWT public keys (exit status 2 on a bad value or an unreadable
 * key), starts logging, opens the MongoDB pool and
 * the Kafka client and creates the HTTP server with /healthz, /readyz and /metrics. Returns 0,
 * or -1 after logging why; call crm_service_clean either way. */
int crm_service_open(crm_service *service, const crm_service_spec *spec);

/* Starts serving, waits for SIGTERM or SIGINT, drains in-flight requests. Returns the process
 * exit status (0 after a clean stop). */
int crm_service_serve(crm_service *service);

/* Closes what crm_service_open opened, in reverse order; accepts a partly opened service. */
void crm_service_clean(crm_service *service);

/* Calls `prepare` (index creation) until the database answers, polling every 200 ms: a service
 * is not ready before its database is. Returns 0 once prepared, or 1 when SIGTERM or SIGINT
 * arrived meanwhile (still pending: serving then stops at once). */
int crm_service_wait_database(crm_service *service, crm_store_status (*prepare)(crm_mongo *));

/* The whole life of an executable: open, spec->start, serve, spec->stop, clean. Returns the
 * process exit status. */
int crm_service_main(const crm_service_spec *spec);

#endif
