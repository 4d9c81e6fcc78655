/* The outbox relay. Each round it reads a batch of unpublished revisions (per customer in
 * version order), completes any change whose writer died between its two writes, produces each
 * event with the idempotent producer (key = customer id, header x-request-id), serves delivery
 * reports, and only then marks the delivered ones published and removes published tombstones.
 * Per customer it stops at the first event not delivered, so the next round resends from there:
 * an event may go out twice (a crash between delivery and mark, or a later one of a failed
 * batch), never zero times, and a customer's events first appear in order. HTTP requests never
 * wait for any of this: Kafka down only grows the backlog. */
#include "relay.h"

#include "crm/kafka.h"
#include "crm/log.h"
#include "crm/metrics.h"
#include "crm/util.h"
#include "store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RELAY_BATCH      20  /* small: on FerretDB each event costs scans, and a round is latency */
#define RELAY_IDLE_MS    100 /* poll interval while there is nothing to send */
#define RELAY_BACKOFF_MS 1000
#define RELAY_TOPIC_WAIT 2000
/* Published revisions are kept an hour (far longer than any request, so a writer that read an
 * old version still finds the revision it would create, and loses), then pruned hourly: the
 * relay's scan and the backlog count stay cheap on FerretDB. */
#define RELAY_KEEP_MS     (60LL * 60 * 1000)
#define RELAY_PRUNE_EVERY 3600.0
#define METRIC_PUBLISHED  "crm_customer_events_published_total"
#define METRIC_BACKLOG    "crm_customer_outbox_backlog"

enum { DELIVERY_PENDING = 0, DELIVERY_OK, DELIVERY_FAILED };

static struct {
    crm_service *service;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int running, stopping, topic_ready, indexes_ready;
} relay = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

void customer_relay_delivered(rd_kafka_t *kafka, const rd_kafka_message_t *message, void *opaque)
{
    (void)kafka;
    (void)opaque;
    int *result = message->_private;
    if (!result)
        return;
    *result = message->err ? DELIVERY_FAILED : DELIVERY_OK;
    if (message->err)
        CRM_LOG_WARN("customer event not delivered: %s", rd_kafka_err2str(message->err));
}

static int stopping(void)
{
    pthread_mutex_lock(&relay.lock);
    int value = relay.stopping;
    pthread_mutex_unlock(&relay.lock);
    return value;
}

/* Sleeps `ms` or until stop is asked. */
static void relay_sleep(long ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&relay.lock);
    if (!relay.stopping)
        pthread_cond_timedwait(&relay.wake, &relay.lock, &until);
    pthread_mutex_unlock(&relay.lock);
}

/* Unless forced, at most once a second: a count per idle poll would load the database for
 * nothing. */
static void backlog_report(int force)
{
    static double last;
    double now = crm_monotonic_seconds();
    if (!force && now - last < 1.0)
        return;
    last = now;
    long long backlog = 0;
    if (outbox_store_backlog(relay.service->mongo, &backlog) == CRM_STORE_OK)
        crm_metrics_gauge_set(crm_http_server_metrics(relay.service->http), METRIC_BACKLOG,
                              "Customer events recorded and not yet published", (double)backlog);
}

/* Produces events[0..count) in order; returns how many were handed to librdkafka. */
static size_t produce_all(outbox_event *events, int *results, size_t count)
{
    rd_kafka_t *kafka = relay.service->kafka;
    size_t produced = 0;
    for (; produced < count; produced++) {
        outbox_event *e = &events[produced];
        rd_kafka_resp_err_t err = rd_kafka_producev(
            kafka, RD_KAFKA_V_TOPIC(CRM_KAFKA_TOPIC_CUSTOMERS),
            RD_KAFKA_V_KEY(e->customer_id, strlen(e->customer_id)),
            RD_KAFKA_V_VALUE(e->value, strlen(e->value)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADER("x-request-id", e->request_id, (ssize_t)strlen(e->request_id)),
            RD_KAFKA_V_OPAQUE(&results[produced]), RD_KAFKA_V_END);
        if (err) {
            CRM_LOG_WARN("customer event not queued: %s", rd_kafka_err2str(err));
            break;
        }
    }
    return produced;
}

/* Serves delivery reports until each of results[0..count) is known. On stop, purges what
 * librdkafka still holds (its reports then say failed) so no report outlives `results`. */
static void await_reports(const int *results, size_t count)
{
    rd_kafka_t *kafka = relay.service->kafka;
    int purged = 0;
    for (;;) {
        size_t pending = 0;
        for (size_t i = 0; i < count; i++)
            pending += results[i] == DELIVERY_PENDING;
        if (pending == 0)
            return;
        if (!purged && stopping()) {
            rd_kafka_purge(kafka, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            purged = 1;
        }
        rd_kafka_poll(kafka, 100);
    }
}

/* Marks delivered events published, per customer up to its first failure. Returns the number
 * published, or -1 when a mark failed (the event goes again: a duplicate, never a loss). */
static long settle(const outbox_event *events, const int *results, size_t count)
{
    long published = 0;
    const char *blocked = NULL; /* the customer whose earlier event failed */
    for (size_t i = 0; i < count && !stopping(); i++) { /* on stop: sent again, never lost */
        const outbox_event *e = &events[i];
        if (blocked && strcmp(blocked, e->customer_id) == 0)
            continue;
        if (results[i] != DELIVERY_OK) {
            blocked = e->customer_id;
            continue;
        }
        if (outbox_store_mark_published(relay.service->mongo, e) != CRM_STORE_OK)
            return -1;
        if (strcmp(e->type, "customer.deleted") == 0)
            outbox_store_remove_tombstone(relay.service->mongo, e->customer_id);
        published++;
    }
    return published;
}

/* One round. Returns 1 when it sent something, 0 when idle, -1 after a failure. */
static int relay_round(void)
{
    outbox_event *events = NULL;
    size_t count = 0;
    int outcome = 0;
    if (!relay.indexes_ready) {
        /* Here rather than before serving: the database may start after us, and the queries
         * work without the indexes (only slower). */
        if (customers_store_prepare(relay.service->mongo) != CRM_STORE_OK)
            return -1;
        relay.indexes_ready = 1;
        CRM_LOG_INFO("indexes ready");
    }
    if (!relay.topic_ready) {
        char err[256];
        if (crm_kafka_topic_ensure(relay.service->kafka, CRM_KAFKA_TOPIC_CUSTOMERS,
                                   (int)relay.service->settings.kafka_partitions, RELAY_TOPIC_WAIT,
                                   err, sizeof(err)) != 0) {
            CRM_LOG_DEBUG("relay: topic not ready: %s", err);
            rd_kafka_poll(relay.service->kafka, 0);
            return -1;
        }
        relay.topic_ready = 1;
    }
    if (outbox_store_pending(relay.service->mongo, RELAY_BATCH, &events, &count) != CRM_STORE_OK) {
        for (size_t i = 0; i < count; i++)
            outbox_event_clean(&events[i]);
        free(events);
        return -1;
    }
    if (count == 0) {
        free(events);
        rd_kafka_poll(relay.service->kafka, 0);
        return 0;
    }
    int *results = calloc(count, sizeof(*results));
    if (!results) {
        outcome = -1;
        goto done;
    }
    /* A revision whose writer died before writing the customer document: complete it first,
     * so a consumer that reads the customer on the event finds the state it announces. */
    for (size_t i = 0; i < count && !stopping(); i++)
        outbox_store_apply(relay.service->mongo, &events[i]);
    /* A stop leaves the rest of the batch to the next start: on FerretDB each of these reads
     * scans the revisions, and a batch could hold a draining process for many seconds. */
    if (stopping())
        goto done;
    size_t produced = produce_all(events, results, count);
    backlog_report(1); /* before waiting: with Kafka down the wait lasts message.timeout.ms */
    for (size_t i = produced; i < count; i++)
        results[i] = DELIVERY_FAILED;
    await_reports(results, produced);
    long published = settle(events, results, count);
    if (published > 0)
        crm_metrics_counter_add(crm_http_server_metrics(relay.service->http), METRIC_PUBLISHED,
                                "Customer events published to Kafka", (double)published);
    outcome = published == (long)count ? 1 : -1;
done:
    for (size_t i = 0; i < count; i++)
        outbox_event_clean(&events[i]);
    free(events);
    free(results);
    return outcome;
}

static void prune_now_and_then(void)
{
    static double last;
    double now = crm_monotonic_seconds();
    if (last != 0 && now - last < RELAY_PRUNE_EVERY)
        return;
    last = now;
    outbox_store_prune(relay.service->mongo, crm_time_now_ms() - RELAY_KEEP_MS);
}

static void *relay_main(void *unused)
{
    (void)unused;
    CRM_LOG_INFO("outbox relay started");
    while (!stopping()) {
        int outcome = relay_round();
        if (relay.indexes_ready)
            prune_now_and_then();
        backlog_report(0);
        if (outcome == 0)
            relay_sleep(RELAY_IDLE_MS);
        else if (outcome < 0)
            relay_sleep(RELAY_BACKOFF_MS);
    }
    CRM_LOG_INFO("outbox relay stopped");
    return NULL;
}

int customer_relay_start(crm_service *service)
{
    relay.service = service;
    relay.stopping = 0;
    relay.topic_ready = 0;
    relay.indexes_ready = 0;
    if (pthread_create(&relay.thread, NULL, relay_main, NULL) != 0)
        return -1;
    relay.running = 1;
    return 0;
}

void customer_relay_stop(void)
{
    if (!relay.running)
        return;
    pthread_mutex_lock(&relay.lock);
    relay.stopping = 1;
    pthread_cond_broadcast(&relay.wake);
    pthread_mutex_unlock(&relay.lock);
    pthread_join(relay.thread, NULL);
    relay.running = 0;
}
