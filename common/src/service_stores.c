/* The MongoDB pool and Kafka client of a service (crm_service_stores in service.h), apart from
 * service.c so that executables without them link neither library. */
#include "crm/kafka.h"
#include "crm/log.h"
#include "crm/service.h"

#include <stdio.h>

static int open_kafka(crm_service *service)
{
    char err[512];
    char client_id[64];
    const crm_settings *s = &service->settings;
    snprintf(client_id, sizeof(client_id), "crm-%s", service->spec.name);

    if (service->spec.kafka == CRM_SERVICE_KAFKA_PRODUCER)
        service->kafka = crm_kafka_producer_new(
            s->kafka_brokers, client_id, service->spec.kafka_delivery, NULL, err, sizeof(err));
    else
        service->kafka = crm_kafka_consumer_new(s->kafka_brokers, service->spec.kafka_group,
                                                client_id, err, sizeof(err));
    if (!service->kafka) {
        CRM_LOG_ERROR("kafka: %s", err);
        return -1;
    }
    /* Kafka may still be starting: the topic is retried by whoever needs it, never fatal. */
    if (service->spec.kafka == CRM_SERVICE_KAFKA_PRODUCER &&
        crm_kafka_topic_ensure(service->kafka, CRM_KAFKA_TOPIC_CUSTOMERS, (int)s->kafka_partitions,
                               2000, err, sizeof(err)) != 0)
        CRM_LOG_WARN("kafka: %s", err);
    return 0;
}

static int stores_open(crm_service *service)
{
    char err[256];
    const crm_service_spec *spec = &service->spec;
    if (spec->database) {
        service->mongo = crm_mongo_new(service->settings.mongo_uri, spec->database, spec->name, err,
                                       sizeof(err));
        if (!service->mongo) {
            CRM_LOG_ERROR("mongodb: %s", err);
            return -1;
        }
        crm_http_server_add_readiness(service->http, "mongodb", crm_mongo_ping, service->mongo, 1);
    }
    if (spec->kafka != CRM_SERVICE_KAFKA_NONE) {
        if (open_kafka(service) != 0)
            return -1;
        crm_http_server_add_readiness(service->http, "kafka", crm_kafka_ping, service->kafka, 0);
    }
    return 0;
}

static void stores_close(crm_service *service)
{
    if (service->spec.kafka == CRM_SERVICE_KAFKA_PRODUCER)
        crm_kafka_producer_close(service->kafka, 5000);
    else if (service->spec.kafka == CRM_SERVICE_KAFKA_CONSUMER)
        crm_kafka_consumer_close(service->kafka);
    service->kafka = NULL;
    crm_mongo_free(service->mongo);
    service->mongo = NULL;
}

const crm_service_backing crm_service_stores = {stores_open, stores_close};
