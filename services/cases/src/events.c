/* The customer-event consumer. At-least-once delivery plus idempotent handling: the offset is
 * committed only after the cases are gone, a replay finds the tombstone already there and
 * nothing left to delete, and a database failure seeks back and retries the same message. */
#include "events.h"

#include "crm/kafka.h"
#include "crm/log.h"
#include "crm/metrics.h"
#include "crm/util.h"
#include "model.h"
#include "store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#define POLL_MS        200
#define RETRY_PAUSE_US 500000
#define TOPIC_WAIT_US  500000

static crm_service *service;
static pthread_t thread;
static int thread_started;
static atomic_int stopping;

int cases_event_handle(crm_mongo *mongo, const char *value, size_t len, long long now,
                       long long *occurred_at)
{
    customer_event event;
    char err[128];
    if (customer_event_parse(value, len, &event, err, sizeof(err)) != 0) {
        CRM_LOG_WARN("malformed customer event skipped: %s", err);
        return 0;
    }
    if (occurred_at)
        *occurred_at = event.occurred_at;
    if (strcmp(event.type, "customer.deleted") != 0)
        return 0;
    /* The tombstone first: a case created from now on sees it and takes itself back, and every
     * case created before is in the delete below. */
    crm_store_status status = tombstone_store_insert(mongo, event.customer_id, now);
    long long deleted = 0;
    if (status == CRM_STORE_OK)
        status = case_store_delete_by_customer(mongo, event.customer_id, &deleted);
    if (status != CRM_STORE_OK) {
        CRM_LOG_WARN("cascade of customer %s failed; retrying", event.customer_id);
        return -1;
    }
    CRM_LOG_INFO("customer %s deleted: %lld cases removed (event %s)", event.customer_id, deleted,
                 event.id);
    return 0;
}

static void request_id_from_headers(const rd_kafka_message_t *message)
{
    rd_kafka_headers_t *headers = NULL;
    const void *value = NULL;
    size_t size = 0;
    char id[129] = "";
    if (rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_header_get_last(headers, "x-request-id", &value, &size) ==
            RD_KAFKA_RESP_ERR_NO_ERROR &&
        value && size < sizeof(id)) {
        memcpy(id, value, size);
        id[size] = '\0';
    }
    crm_log_set_request_id(crm_http_request_id_valid(id) ? id : NULL);
}

/* Puts the partition back at this message, so the next poll delivers it again. */
static void seek_back(const rd_kafka_message_t *message)
{
    rd_kafka_topic_partition_list_t *partitions = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(partitions, rd_kafka_topic_name(message->rkt),
                                      message->partition)
        ->offset = message->offset;
    rd_kafka_error_t *error = rd_kafka_seek_partitions(service->kafka, partitions, 2000);
    if (error) {
        CRM_LOG_WARN("kafka seek failed: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
    rd_kafka_topic_partition_list_destroy(partitions);
}

static void message_handle(const rd_kafka_message_t *message)
{
    crm_metrics *metrics = crm_http_server_metrics(service->http);
    long long occurred_at = 0;
    request_id_from_headers(message);
    if (cases_event_handle(service->mongo, message->payload, message->len, crm_time_now_ms(),
                           &occurred_at) != 0) {
        seek_back(message);
        crm_log_set_request_id(NULL);
        usleep(RETRY_PAUSE_US);
        return;
    }
    rd_kafka_resp_err_t code = rd_kafka_commit_message(service->kafka, message, 0);
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR) /* handled anyway; a redelivery is harmless */
        CRM_LOG_WARN("kafka commit failed: %s", rd_kafka_err2str(code));
    crm_metrics_counter_add(metrics, "crm_cases_events_consumed_total",
                            "Customer events handled by the cascade consumer", 1);
    if (occurred_at)
        crm_metrics_gauge_set(metrics, "crm_cases_cascade_lag_seconds",
                              "Seconds between the last handled event and its occurrence",
                              (double)(crm_time_now_ms() - occurred_at) / 1000.0);
    crm_log_set_request_id(NULL);
}

/* Waits until the topic exists (the customers service creates it), then subscribes. Listing
 * all topics never asks the broker to create ours with its default partitions. */
static int subscribe_when_topic_exists(void)
{
    int warned = 0;
    while (!atomic_load(&stopping)) {
        const struct rd_kafka_metadata *metadata = NULL;
        int found = 0;
        if (rd_kafka_metadata(service->kafka, 1, NULL, &metadata, 1000) ==
            RD_KAFKA_RESP_ERR_NO_ERROR) {
            for (int i = 0; i < metadata->topic_cnt && !found; i++)
                found = strcmp(metadata->topics[i].topic, CRM_KAFKA_TOPIC_CUSTOMERS) == 0 &&
                        metadata->topics[i].partition_cnt > 0;
        }
        if (metadata)
            rd_kafka_metadata_destroy(metadata);
        if (found) {
            rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
            rd_kafka_topic_partition_list_add(topics, CRM_KAFKA_TOPIC_CUSTOMERS,
                                              RD_KAFKA_PARTITION_UA);
            rd_kafka_resp_err_t code = rd_kafka_subscribe(service->kafka, topics);
            rd_kafka_topic_partition_list_destroy(topics);
            if (code == RD_KAFKA_RESP_ERR_NO_ERROR) {
                CRM_LOG_INFO("consuming %s", CRM_KAFKA_TOPIC_CUSTOMERS);
                return 0;
            }
            CRM_LOG_WARN("kafka subscribe failed: %s", rd_kafka_err2str(code));
        } else if (!warned++) {
            CRM_LOG_WARN("waiting for the topic %s", CRM_KAFKA_TOPIC_CUSTOMERS);
        }
        usleep(TOPIC_WAIT_US);
    }
    return -1;
}

static void *consume(void *context)
{
    (void)context;
    if (subscribe_when_topic_exists() != 0)
        return NULL;
    while (!atomic_load(&stopping)) {
        rd_kafka_message_t *message = rd_kafka_consumer_poll(service->kafka, POLL_MS);
        if (!message)
            continue;
        if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR)
            message_handle(message);
        else if (message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            CRM_LOG_DEBUG("kafka: %s", rd_kafka_message_errstr(message));
        rd_kafka_message_destroy(message);
    }
    return NULL;
}

int cases_events_start(crm_service *cases_service)
{
    service = cases_service;
    atomic_store(&stopping, 0);
    if (!service->kafka)
        return -1;
    if (pthread_create(&thread, NULL, consume, NULL) != 0)
        return -1;
    thread_started = 1;
    return 0;
}

void cases_events_stop(void)
{
    if (!thread_started)
        return;
    atomic_store(&stopping, 1);
    pthread_join(thread, NULL);
    thread_started = 0;
}
