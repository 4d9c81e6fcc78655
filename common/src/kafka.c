/* librdkafka setup shared by the producer (customers' outbox relay) and the consumer (cases). */
#include "crm/kafka.h"

#include "crm/log.h"

#include <stdio.h>
#include <string.h>

static void log_from_kafka(const rd_kafka_t *kafka, int level, const char *facility,
                           const char *text)
{
    (void)kafka;
    /* syslog levels: 0-3 errors, 4 warnings, 5-6 info, 7 debug */
    crm_log_level ours = level <= 3 ? CRM_LOG_ERROR : level == 4 ? CRM_LOG_WARN : CRM_LOG_DEBUG;
    CRM_LOG(ours, "kafka %s: %s", facility, text);
}

static int conf_set_all(rd_kafka_conf_t *conf, const char *const (*pairs)[2], size_t count,
                        char *err, size_t err_len)
{
    for (size_t i = 0; i < count; i++) {
        if (rd_kafka_conf_set(conf, pairs[i][0], pairs[i][1], err, err_len) != RD_KAFKA_CONF_OK)
            return -1;
    }
    return 0;
}

/* The settings both kinds of client share, plus the kind's own `pairs`. */
static rd_kafka_conf_t *conf_new(const char *brokers, const char *client_id,
                                 const char *const (*pairs)[2], size_t count, char *err,
                                 size_t err_len)
{
    const char *const common_pairs[][2] = {
        {"bootstrap.servers", brokers},
        {"client.id", client_id},
        /* Reconnect quickly once a broker is back. */
        {"reconnect.backoff.ms", "100"},
        {"reconnect.backoff.max.ms", "1000"},
        {"log.connection.close", "false"},
    };
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (conf_set_all(conf, common_pairs, sizeof(common_pairs) / sizeof(common_pairs[0]), err,
                     err_len) != 0 ||
        conf_set_all(conf, pairs, count, err, err_len) != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, log_from_kafka);
    return conf;
}

rd_kafka_t *crm_kafka_producer_new(const char *brokers, const char *client_id,
                                   crm_kafka_delivery_cb delivery, void *opaque, char *err,
                                   size_t err_len)
{
    static const char *const producer_pairs[][2] = {
        {"enable.idempotence", "true"}, /* implies acks=all and ordered retries */
        {"linger.ms", "5"},
        {"message.timeout.ms", "30000"},
    };
    rd_kafka_conf_t *conf =
        conf_new(brokers, client_id, producer_pairs,
                 sizeof(producer_pairs) / sizeof(producer_pairs[0]), err, err_len);
    if (!conf)
        return NULL;
    if (delivery)
        rd_kafka_conf_set_dr_msg_cb(conf, delivery);
    rd_kafka_conf_set_opaque(conf, opaque);
    rd_kafka_t *kafka = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, err_len);
    if (!kafka)
        rd_kafka_conf_destroy(conf); /* rd_kafka_new takes ownership only on success */
    return kafka;
}

rd_kafka_t *crm_kafka_consumer_new(const char *brokers, const char *group, const char *client_id,
                                   char *err, size_t err_len)
{
    const char *const consumer_pairs[][2] = {
        {"group.id", group},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "earliest"},
        {"session.timeout.ms", "10000"},
        {"heartbeat.interval.ms", "1000"},
    };
    rd_kafka_conf_t *conf =
        conf_new(brokers, client_id, consumer_pairs,
                 sizeof(consumer_pairs) / sizeof(consumer_pairs[0]), err, err_len);
    if (!conf)
        return NULL;
    rd_kafka_t *kafka = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, err_len);
    if (!kafka) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_poll_set_consumer(kafka); /* one queue: rd_kafka_consumer_poll serves everything */
    return kafka;
}

int crm_kafka_topic_ensure(rd_kafka_t *kafka, const char *topic, int partitions, int timeout_ms,
                           char *err, size_t err_len)
{
    int rc = -1;
    rd_kafka_NewTopic_t *new_topic = NULL;
    rd_kafka_AdminOptions_t *options = NULL;
    rd_kafka_queue_t *queue = NULL;
    rd_kafka_event_t *event = NULL;
    char errstr[256];

    new_topic = rd_kafka_NewTopic_new(topic, partitions, 1, errstr, sizeof(errstr));
    if (!new_topic) {
        snprintf(err, err_len, "topic %s: %s", topic, errstr);
        goto done;
    }
    options = rd_kafka_AdminOptions_new(kafka, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(options, timeout_ms, errstr, sizeof(errstr));
    rd_kafka_AdminOptions_set_operation_timeout(options, timeout_ms, errstr, sizeof(errstr));
    queue = rd_kafka_queue_new(kafka);
    rd_kafka_CreateTopics(kafka, &new_topic, 1, options, queue);
    event = rd_kafka_queue_poll(queue, timeout_ms + 1000);
    if (!event) {
        snprintf(err, err_len, "topic %s: no answer from Kafka", topic);
        goto done;
    }
    if (rd_kafka_event_error(event)) {
        snprintf(err, err_len, "topic %s: %s", topic, rd_kafka_event_error_string(event));
        goto done;
    }
    size_t count = 0;
    const rd_kafka_CreateTopics_result_t *result = rd_kafka_event_CreateTopics_result(event);
    const rd_kafka_topic_result_t **results = rd_kafka_CreateTopics_result_topics(result, &count);
    for (size_t i = 0; i < count; i++) {
        rd_kafka_resp_err_t code = rd_kafka_topic_result_error(results[i]);
        if (code != RD_KAFKA_RESP_ERR_NO_ERROR && code != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            snprintf(err, err_len, "topic %s: %s", topic, rd_kafka_err2str(code));
            goto done;
        }
    }
    rc = 0;
done:
    if (event)
        rd_kafka_event_destroy(event);
    if (queue)
        rd_kafka_queue_destroy(queue);
    if (options)
        rd_kafka_AdminOptions_destroy(options);
    if (new_topic)
        rd_kafka_NewTopic_destroy(new_topic);
    return rc;
}

int crm_kafka_ping(void *context)
{
    const struct rd_kafka_metadata *metadata = NULL;
    rd_kafka_resp_err_t code = rd_kafka_metadata(context, 0, NULL, &metadata, 500);
    if (metadata)
        rd_kafka_metadata_destroy(metadata);
    return code == RD_KAFKA_RESP_ERR_NO_ERROR;
}

void crm_kafka_producer_close(rd_kafka_t *kafka, int flush_timeout_ms)
{
    if (!kafka)
        return;
    if (rd_kafka_flush(kafka, flush_timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
        CRM_LOG_WARN("kafka: %d messages still unsent at shutdown", rd_kafka_outq_len(kafka));
    rd_kafka_destroy(kafka);
}

void crm_kafka_consumer_close(rd_kafka_t *kafka)
{
    if (!kafka)
        return;
    rd_kafka_consumer_close(kafka);
    rd_kafka_destroy(kafka);
}
