/* Kafka clients with the project's settings (NOTES.md): an idempotent producer, a consumer that
 * commits only what its caller finished, librdkafka's logs turned into our JSON lines. */
#ifndef CRM_KAFKA_H
#define CRM_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#define CRM_KAFKA_TOPIC_CUSTOMERS "crm.customers.v1"
#define CRM_KAFKA_GROUP_CASES     "crm-cases"

/* Delivery report: called from rd_kafka_poll on the thread that polls. */
typedef void (*crm_kafka_delivery_cb)(rd_kafka_t *kafka, const rd_kafka_message_t *message,
                                      void *opaque);

/* An idempotent producer (acks=all). `delivery` may be NULL. Returns NULL with a message in
 * `err`. Release with crm_kafka_producer_close. */
rd_kafka_t *crm_kafka_producer_new(const char *brokers, const char *client_id,
                                   crm_kafka_delivery_cb delivery, void *opaque, char *err,
                                   size_t err_len);

/* A consumer in `group` with auto commit and auto offset store off, reading from the earliest
 * offset when the group has none. Returns NULL with a message in `err`. Release with
 * crm_kafka_consumer_close. */
rd_kafka_t *crm_kafka_consumer_new(const char *brokers, const char *group, const char *client_id,
                                   char *err, size_t err_len);

/* Creates `topic` with `partitions` if it does not exist. Returns 0 or -1 with `err`. */
int crm_kafka_topic_ensure(rd_kafka_t *kafka, const char *topic, int partitions, int timeout_ms,
                           char *err, size_t err_len);

/* 1 when a broker answers a metadata request within 500 ms, else 0. Fits crm_readiness_check. */
int crm_kafka_ping(void *kafka);

/* Flushes outstanding messages (up to `flush_timeout_ms`) and destroys; accepts NULL. */
void crm_kafka_producer_close(rd_kafka_t *kafka, int flush_timeout_ms);

/* Leaves the group cleanly and destroys; accepts NULL. */
void crm_kafka_consumer_close(rd_kafka_t *kafka);

#endif
