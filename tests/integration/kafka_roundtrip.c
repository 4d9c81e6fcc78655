/* Kafka round trip against the test stack's broker with the project's clients: idempotent
 * produce with delivery reports, consume in a group, commit each message after its work, and a
 * restarted consumer of the same group resumes after the last commit (nothing old redelivered). */
#include "check.h"
#include "crm/kafka.h"
#include "crm/util.h"

#include <string.h>

#define FIRST_BATCH  10
#define SECOND_BATCH 5

typedef struct delivery_stats {
    int delivered;
    int failed;
} delivery_stats;

static void on_delivery(rd_kafka_t *kafka, const rd_kafka_message_t *message, void *opaque)
{
    (void)kafka;
    delivery_stats *stats = opaque;
    if (message->err)
        stats->failed++;
    else
        stats->delivered++;
}

static void produce(rd_kafka_t *producer, const char *topic, int from, int to)
{
    for (int i = from; i < to; i++) {
        char key[16], value[32], request_id[32];
        snprintf(key, sizeof(key), "k%d", i % 3);
        snprintf(value, sizeof(value), "m%d", i);
        snprintf(request_id, sizeof(request_id), "itest-%d", i);
        rd_kafka_resp_err_t err = rd_kafka_producev(
            producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
            RD_KAFKA_V_VALUE(value, strlen(value)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADER("x-request-id", request_id, (ssize_t)strlen(request_id)),
            RD_KAFKA_V_END);
        CHECK(err == RD_KAFKA_RESP_ERR_NO_ERROR, "produce: %s", rd_kafka_err2str(err));
    }
    CHECK(rd_kafka_flush(producer, 15000) == RD_KAFKA_RESP_ERR_NO_ERROR, "flush timed out");
}

/* Consumes in `group` until messages m<from>..m<to-1> have all arrived, committing each one;
 * then keeps polling for `quiet_ms` to prove that nothing else arrives. */
static void consume_expect(const char *brokers, const char *group, const char *topic, int from,
                           int to, int quiet_ms)
{
    char err[512];
    int seen[FIRST_BATCH + SECOND_BATCH] = {0};
    int remaining = to - from;
    rd_kafka_t *consumer = crm_kafka_consumer_new(brokers, group, "itest", err, sizeof(err));
    CHECK(consumer, "consumer: %s", err);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
    CHECK(rd_kafka_subscribe(consumer, topics) == RD_KAFKA_RESP_ERR_NO_ERROR, "subscribe");
    rd_kafka_topic_partition_list_destroy(topics);

    double deadline = crm_monotonic_seconds() + 60;
    double quiet_until = 0;
    while (remaining > 0 || crm_monotonic_seconds() < quiet_until) {
        CHECK(crm_monotonic_seconds() < deadline, "%d messages never arrived", remaining);
        rd_kafka_message_t *message = rd_kafka_consumer_poll(consumer, 200);
        if (!message)
            continue;
        if (message->err) {
            CHECK(message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF, "consume: %s",
                  rd_kafka_message_errstr(message));
            rd_kafka_message_destroy(message);
            continue;
        }
        int n = -1;
        CHECK(sscanf((const char *)message->payload, "m%d", &n) == 1, "unexpected payload");
        CHECK(n >= from && n < to, "m%d arrived, expected only m%d..m%d", n, from, to - 1);
        CHECK(!seen[n], "m%d arrived twice", n);
        const void *header = NULL;
        size_t header_len = 0;
        rd_kafka_headers_t *headers = NULL;
        char expected[32];
        snprintf(expected, sizeof(expected), "itest-%d", n);
        CHECK(rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                  rd_kafka_header_get_last(headers, "x-request-id", &header, &header_len) ==
                      RD_KAFKA_RESP_ERR_NO_ERROR &&
                  header_len == strlen(expected) && memcmp(header, expected, header_len) == 0,
              "m%d lost its x-request-id header", n);
        /* The work is done: only now is the message committed. */
        CHECK(rd_kafka_commit_message(consumer, message, 0) == RD_KAFKA_RESP_ERR_NO_ERROR,
              "commit m%d", n);
        seen[n] = 1;
        rd_kafka_message_destroy(message);
        if (--remaining == 0)
            quiet_until = crm_monotonic_seconds() + quiet_ms / 1000.0;
    }
    crm_kafka_consumer_close(consumer);
}

int main(void)
{
    char err[512], topic[64], group[64], uuid[CRM_UUID_LEN];
    delivery_stats stats = {0};
    const char *brokers = getenv("CRM_KAFKA_BROKERS");
    CHECK(brokers, "CRM_KAFKA_BROKERS is not set");

    crm_uuid_v4(uuid);
    snprintf(topic, sizeof(topic), "itest.roundtrip.%.8s", uuid);
    snprintf(group, sizeof(group), "itest-%.8s", uuid);

    rd_kafka_t *producer =
        crm_kafka_producer_new(brokers, "itest", on_delivery, &stats, err, sizeof(err));
    CHECK(producer, "producer: %s", err);
    CHECK(crm_kafka_topic_ensure(producer, topic, 3, 10000, err, sizeof(err)) == 0, "topic: %s",
          err);
    CHECK(crm_kafka_topic_ensure(producer, topic, 3, 10000, err, sizeof(err)) == 0,
          "ensuring an existing topic: %s", err);
    CHECK(crm_kafka_ping(producer), "ping");

    produce(producer, topic, 0, FIRST_BATCH);
    CHECK(stats.delivered == FIRST_BATCH && stats.failed == 0, "delivered %d, failed %d",
          stats.delivered, stats.failed);
    char reason[256];
    CHECK(rd_kafka_fatal_error(producer, reason, sizeof(reason)) == RD_KAFKA_RESP_ERR_NO_ERROR,
          "idempotent producer fatal error: %s", reason);
    printf("ok: %d messages produced idempotently and delivered\n", stats.delivered);

    consume_expect(brokers, group, topic, 0, FIRST_BATCH, 0);
    printf("ok: group %s consumed and committed m0..m%d\n", group, FIRST_BATCH - 1);

    produce(producer, topic, FIRST_BATCH, FIRST_BATCH + SECOND_BATCH);
    CHECK(stats.delivered == FIRST_BATCH + SECOND_BATCH && stats.failed == 0, "second batch");
    /* A new consumer of the same group: only the new messages, none of the committed ones. */
    consume_expect(brokers, group, topic, FIRST_BATCH, FIRST_BATCH + SECOND_BATCH, 2000);
    printf("ok: restarted consumer resumed after the commit (m%d..m%d only)\n", FIRST_BATCH,
           FIRST_BATCH + SECOND_BATCH - 1);

    crm_kafka_producer_close(producer, 5000);
    return 0;
}
