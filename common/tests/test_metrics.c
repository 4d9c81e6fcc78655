/* Unit tests for common/src/metrics.c: the exact Prometheus text of request counters and latency
 * histograms (cumulative buckets, +Inf equal to the count), named counters and gauges, labelled
 * counters and histograms, exact sums under concurrent observation, and a registry that stays
 * bounded whatever routes it is fed. */
#include "crm/metrics.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static crm_metrics *m;
static char *text;

static void setup(void)
{
    m = crm_metrics_new("svc");
    ck_assert_ptr_nonnull(m);
    text = NULL;
}

static void teardown(void)
{
    free(text);
    crm_metrics_free(m);
}

static void render(void)
{
    free(text);
    text = crm_metrics_render(m);
    ck_assert_ptr_nonnull(text);
}

/* Whether `line` is one whole line of the rendered text. */
static int has_line(const char *line)
{
    size_t len = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++) {
        if ((p == text || p[-1] == '\n') && p[len] == '\n')
            return 1;
    }
    return 0;
}

#define ASSERT_LINE(line)                                                                          \
    ck_assert_msg(has_line(line), "missing line: %s\n--- got:\n%s", line, text)

static size_t count_lines_starting(const char *prefix)
{
    size_t count = 0, len = strlen(prefix);
    for (const char *p = text; *p;) {
        if (strncmp(p, prefix, len) == 0)
            count++;
        const char *end = strchr(p, '\n');
        if (!end)
            break;
        p = end + 1;
    }
    return count;
}

/* Checks every histogram series in the text: buckets never decrease and +Inf equals _count. */
static void assert_histograms_consistent(void)
{
    const char *bucket = "crm_http_request_duration_seconds_bucket{";
    unsigned long long previous = 0;
    char series[256] = "";
    for (const char *p = text; *p;) {
        const char *end = strchr(p, '\n');
        ck_assert_ptr_nonnull(end);
        if (strncmp(p, bucket, strlen(bucket)) == 0) {
            const char *le = strstr(p, ",le=\"");
            ck_assert_ptr_nonnull(le);
            size_t key_len = (size_t)(le - p);
            const char *space = memrchr(p, ' ', (size_t)(end - p));
            ck_assert_ptr_nonnull(space);
            unsigned long long value = strtoull(space + 1, NULL, 10);
            if (strncmp(series, p, key_len) != 0 || series[key_len] != '\0') {
                snprintf(series, sizeof(series), "%.*s", (int)key_len, p);
                previous = 0;
            }
            ck_assert_msg(value >= previous, "bucket decreased: %.*s", (int)(end - p), p);
            previous = value;
            if (strncmp(le, ",le=\"+Inf\"}", 11) == 0) {
                /* The matching _count line has the same labels without le. */
                char want[320];
                snprintf(want, sizeof(want), "crm_http_request_duration_seconds_count{%s} %llu",
                         series + strlen(bucket), value);
                ASSERT_LINE(want);
            }
        }
        p = end + 1;
    }
}

START_TEST(test_empty_registry)
{
    render();
    ASSERT_LINE("# TYPE crm_http_requests_total counter");
    ASSERT_LINE("# TYPE crm_http_request_duration_seconds histogram");
    ck_assert_uint_eq(count_lines_starting("crm_"), 0);
    ck_assert_int_eq(text[strlen(text) - 1], '\n');
}
END_TEST

START_TEST(test_request_counters_and_histogram)
{
    crm_metrics_observe_request(m, "/things", "GET", 200, 0.003);
    crm_metrics_observe_request(m, "/things", "GET", 200, 0.02);
    crm_metrics_observe_request(m, "/things", "GET", 404, 0.7);
    crm_metrics_observe_request(m, "/things/:id", "POST", 201, 10.0);
    render();

    ASSERT_LINE("# HELP crm_http_requests_total HTTP requests answered.");
    ASSERT_LINE("# TYPE crm_http_requests_total counter");
    ASSERT_LINE("crm_http_requests_total{service=\"svc\",route=\"/"
                "things\",method=\"GET\",status=\"200\"} 2");
    ASSERT_LINE("crm_http_requests_total{service=\"svc\",route=\"/"
                "things\",method=\"GET\",status=\"404\"} 1");
    ASSERT_LINE("crm_http_requests_total{service=\"svc\",route=\"/things/:id\",method=\"POST\","
                "status=\"201\"} 1");
    ck_assert_uint_eq(count_lines_starting("crm_http_requests_total{"), 3);

    ASSERT_LINE("# TYPE crm_http_request_duration_seconds histogram");
    /* 0.003, 0.02 and 0.7 seconds, cumulative. */
    static const struct {
        const char *le;
        int count;
    } things[] = {{"0.0005", 0}, {"0.001", 0}, {"0.0025", 0}, {"0.005", 1}, {"0.01", 1},
                  {"0.025", 2},  {"0.05", 2},  {"0.1", 2},    {"0.25", 2},  {"0.5", 2},
                  {"1", 3},      {"2.5", 3},   {"5", 3},      {"+Inf", 3}};
    char line[256];
    for (size_t i = 0; i < sizeof(things) / sizeof(things[0]); i++) {
        snprintf(line, sizeof(line),
                 "crm_http_request_duration_seconds_bucket{service=\"svc\",route=\"/things\","
                 "method=\"GET\",le=\"%s\"} %d",
                 things[i].le, things[i].count);
        ASSERT_LINE(line);
    }
    ASSERT_LINE("crm_http_request_duration_seconds_sum{service=\"svc\",route=\"/things\","
                "method=\"GET\"} 0.723000");
    ASSERT_LINE("crm_http_request_duration_seconds_count{service=\"svc\",route=\"/things\","
                "method=\"GET\"} 3");
    /* The histogram has no status label: 200 and 404 share one series. */
    ck_assert_uint_eq(count_lines_starting("crm_http_request_duration_seconds_count{"), 2);
    ck_assert_uint_eq(count_lines_starting("crm_http_request_duration_seconds_bucket{"), 2 * 14);

    /* 10 s is above every finite bucket. */
    ASSERT_LINE("crm_http_request_duration_seconds_bucket{service=\"svc\",route=\"/things/:id\","
                "method=\"POST\",le=\"5\"} 0");
    ASSERT_LINE("crm_http_request_duration_seconds_bucket{service=\"svc\",route=\"/things/:id\","
                "method=\"POST\",le=\"+Inf\"} 1");
    ASSERT_LINE("crm_http_request_duration_seconds_sum{service=\"svc\",route=\"/things/:id\","
                "method=\"POST\"} 10.000000");
    ASSERT_LINE("crm_http_request_duration_seconds_count{service=\"svc\",route=\"/things/:id\","
                "method=\"POST\"} 1");
    assert_histograms_consistent();
}
END_TEST

START_TEST(test_bucket_bounds_are_inclusive)
{
    /* "le" means less than or equal: a value on a bound counts in that bucket. */
    crm_metrics_observe_request(m, "/b", "GET", 200, 0.005);
    crm_metrics_observe_request(m, "/b", "GET", 200, 1.0);
    crm_metrics_observe_request(m, "/b", "GET", 200, 0.0);
    render();
    ASSERT_LINE("crm_http_request_duration_seconds_bucket{service=\"svc\",route=\"/b\","
                "method=\"GET\",le=\"0.0005\"} 1");
    ASSERT_LINE("crm_http_request_duration_seconds_bucket{service=\"svc\",route=\"/b\","
                "method=\"GET\",le=\"0.0025\"} 1");
    ASSERT_LINE("crm_http_request_duration_seconds_bucket{service=\"svc\",route=\"/b\","
                "method=\"GET\",le=\"0.005\"} 2");
    ASSERT_LINE("crm_http_request_duration_seconds_bucket{service=\"svc\",route=\"/b\","
                "method=\"GET\",le=\"0.5\"} 2");
    ASSERT_LINE("crm_http_request_duration_seconds_bucket{service=\"svc\",route=\"/b\","
                "method=\"GET\",le=\"1\"} 3");
    ASSERT_LINE("crm_http_request_duration_seconds_sum{service=\"svc\",route=\"/b\","
                "method=\"GET\"} 1.005000");
    assert_histograms_consistent();
}
END_TEST

START_TEST(test_counters_and_gauges)
{
    crm_metrics_counter_add(m, "crm_events_published_total", "Events published.", 1);
    crm_metrics_counter_add(m, "crm_events_published_total", "Events published.", 1);
    crm_metrics_counter_add(m, "crm_events_published_total", "Events published.", 2.5);
    crm_metrics_gauge_set(m, "crm_outbox_backlog", "Rows waiting in the outbox.", 7);
    crm_metrics_gauge_set(m, "crm_outbox_backlog", "Rows waiting in the outbox.", 3);
    crm_metrics_gauge_set(m, "crm_cascade_lag_seconds", "Cascade lag.", 0.25);
    render();
    ASSERT_LINE("# HELP crm_events_published_total Events published.");
    ASSERT_LINE("# TYPE crm_events_published_total counter");
    ASSERT_LINE("crm_events_published_total{service=\"svc\"} 4.5");
    ASSERT_LINE("# HELP crm_outbox_backlog Rows waiting in the outbox.");
    ASSERT_LINE("# TYPE crm_outbox_backlog gauge");
    ASSERT_LINE("crm_outbox_backlog{service=\"svc\"} 3");
    ASSERT_LINE("# TYPE crm_cascade_lag_seconds gauge");
    ASSERT_LINE("crm_cascade_lag_seconds{service=\"svc\"} 0.25");
    ck_assert_uint_eq(count_lines_starting("crm_events_published_total{"), 1);
    ck_assert_uint_eq(count_lines_starting("crm_outbox_backlog{"), 1);
    ck_assert_uint_eq(count_lines_starting("# TYPE crm_outbox_backlog"), 1);

    /* A gauge may go to zero and a counter is reported even before any request. */
    crm_metrics_gauge_set(m, "crm_outbox_backlog", "Rows waiting in the outbox.", 0);
    render();
    ASSERT_LINE("crm_outbox_backlog{service=\"svc\"} 0");
}
END_TEST

START_TEST(test_labelled_counters_share_one_header)
{
    crm_metrics_counter_add_labelled(m, "crm_up_total", "Upstream calls.", "upstream=\"a\"", 1);
    crm_metrics_counter_add(m, "crm_other_total", "Other.", 1);
    crm_metrics_counter_add_labelled(m, "crm_up_total", "Upstream calls.", "upstream=\"b\"", 2);
    crm_metrics_counter_add_labelled(m, "crm_up_total", "Upstream calls.", "upstream=\"a\"", 1);
    crm_metrics_counter_add_labelled(m, "crm_up_total", "Upstream calls.", NULL, 5);
    render();
    ASSERT_LINE("crm_up_total{service=\"svc\",upstream=\"a\"} 2");
    ASSERT_LINE("crm_up_total{service=\"svc\",upstream=\"b\"} 2");
    ASSERT_LINE("crm_up_total{service=\"svc\"} 5");
    ASSERT_LINE("crm_other_total{service=\"svc\"} 1");
    ck_assert_uint_eq(count_lines_starting("# TYPE crm_up_total counter"), 1);
    /* Every series of a name follows its one TYPE line, before any other name. */
    const char *type = strstr(text, "# TYPE crm_up_total counter\n");
    const char *other = strstr(text, "# HELP crm_other_total");
    ck_assert_ptr_nonnull(type);
    ck_assert_ptr_nonnull(other);
    ck_assert(type < other);
    ck_assert(strstr(text, "crm_up_total{service=\"svc\"} 5") < other);
}
END_TEST

START_TEST(test_named_histograms)
{
    crm_metrics_histogram_observe(m, "crm_up_seconds", "Upstream latency.", "upstream=\"a\"",
                                  0.003);
    crm_metrics_histogram_observe(m, "crm_up_seconds", "Upstream latency.", "upstream=\"b\"", 7);
    crm_metrics_histogram_observe(m, "crm_up_seconds", "Upstream latency.", "upstream=\"a\"", 0.02);
    crm_metrics_histogram_observe(m, "crm_plain_seconds", "Plain.", NULL, 0.0005);
    render();
    ck_assert_uint_eq(count_lines_starting("# TYPE crm_up_seconds histogram"), 1);
    ASSERT_LINE("crm_up_seconds_bucket{service=\"svc\",upstream=\"a\",le=\"0.0025\"} 0");
    ASSERT_LINE("crm_up_seconds_bucket{service=\"svc\",upstream=\"a\",le=\"0.005\"} 1");
    ASSERT_LINE("crm_up_seconds_bucket{service=\"svc\",upstream=\"a\",le=\"0.025\"} 2");
    ASSERT_LINE("crm_up_seconds_bucket{service=\"svc\",upstream=\"a\",le=\"+Inf\"} 2");
    ASSERT_LINE("crm_up_seconds_sum{service=\"svc\",upstream=\"a\"} 0.023000");
    ASSERT_LINE("crm_up_seconds_count{service=\"svc\",upstream=\"a\"} 2");
    ASSERT_LINE("crm_up_seconds_bucket{service=\"svc\",upstream=\"b\",le=\"5\"} 0");
    ASSERT_LINE("crm_up_seconds_bucket{service=\"svc\",upstream=\"b\",le=\"+Inf\"} 1");
    ASSERT_LINE("crm_plain_seconds_bucket{service=\"svc\",le=\"0.0005\"} 1");
    ASSERT_LINE("crm_plain_seconds_count{service=\"svc\"} 1");
    ck_assert_uint_eq(count_lines_starting("crm_up_seconds_bucket{"), 2 * 14);

    /* Bounded like the rest: new label lists past the capacity are dropped. */
    char labels[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(labels, sizeof(labels), "n=\"%d\"", i);
        crm_metrics_histogram_observe(m, "crm_many_seconds", "Many.", labels, 0.1);
    }
    render();
    ck_assert_uint_lt(count_lines_starting("crm_many_seconds_count{"), 1000);
    ASSERT_LINE("crm_up_seconds_count{service=\"svc\",upstream=\"a\"} 2");
}
END_TEST

START_TEST(test_large_counter_is_exact)
{
    for (int i = 0; i < 3; i++)
        crm_metrics_counter_add(m, "crm_bytes_total", "Bytes.", 1e15);
    crm_metrics_counter_add(m, "crm_bytes_total", "Bytes.", 1);
    render();
    ASSERT_LINE("crm_bytes_total{service=\"svc\"} 3000000000000001");
}
END_TEST

#define THREADS             4
#define OBSERVES_PER_THREAD 20000

static void *observer(void *arg)
{
    crm_metrics *metrics = arg;
    for (int i = 0; i < OBSERVES_PER_THREAD; i++) {
        crm_metrics_observe_request(metrics, "/c", "GET", 200, 0.001);
        crm_metrics_counter_add(metrics, "crm_work_total", "Work done.", 1);
        if (i % 1000 == 0) {
            char *snapshot = crm_metrics_render(metrics); /* reads race with writes */
            free(snapshot);
        }
    }
    return NULL;
}

START_TEST(test_concurrent_observes_sum_exactly)
{
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, observer, m), 0);
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
    render();
    ASSERT_LINE("crm_http_requests_total{service=\"svc\",route=\"/"
                "c\",method=\"GET\",status=\"200\"} 80000");
    ASSERT_LINE("crm_http_request_duration_seconds_bucket{service=\"svc\",route=\"/c\","
                "method=\"GET\",le=\"0.001\"} 80000");
    ASSERT_LINE("crm_http_request_duration_seconds_bucket{service=\"svc\",route=\"/c\","
                "method=\"GET\",le=\"0.0005\"} 0");
    ASSERT_LINE("crm_http_request_duration_seconds_count{service=\"svc\",route=\"/c\","
                "method=\"GET\"} 80000");
    ASSERT_LINE("crm_work_total{service=\"svc\"} 80000");
    assert_histograms_consistent();
}
END_TEST

START_TEST(test_registry_is_bounded)
{
    char route[64];
    crm_metrics_observe_request(m, "/first", "GET", 200, 0.01);
    for (int i = 0; i < 10000; i++) {
        snprintf(route, sizeof(route), "/r/%d", i);
        crm_metrics_observe_request(m, route, "GET", 200, 0.01);
    }
    render();
    size_t counters = count_lines_starting("crm_http_requests_total{");
    size_t histograms = count_lines_starting("crm_http_request_duration_seconds_count{");
    size_t size = strlen(text);
    ck_assert_uint_ge(counters, 1);
    ck_assert_uint_lt(counters, 10000);
    ck_assert_uint_lt(histograms, 10000);
    ck_assert_uint_lt(size, 1024 * 1024);
    assert_histograms_consistent();

    /* Another 10,000 new routes add nothing: the registry is full, not growing. */
    for (int i = 10000; i < 20000; i++) {
        snprintf(route, sizeof(route), "/r/%d", i);
        crm_metrics_observe_request(m, route, "POST", 500, 0.01);
    }
    crm_metrics_observe_request(m, "/first", "GET", 200, 0.01);
    render();
    ck_assert_uint_eq(count_lines_starting("crm_http_requests_total{"), counters);
    ck_assert_uint_eq(count_lines_starting("crm_http_request_duration_seconds_count{"), histograms);
    ck_assert_uint_eq(strlen(text), size); /* only digits of /first changed, 1 to 2 */
    /* A series registered before the registry filled keeps counting. */
    ASSERT_LINE("crm_http_requests_total{service=\"svc\",route=\"/"
                "first\",method=\"GET\",status=\"200\"} 2");
    ASSERT_LINE("crm_http_request_duration_seconds_count{service=\"svc\",route=\"/first\","
                "method=\"GET\"} 2");
}
END_TEST

START_TEST(test_long_labels_are_cut_not_overflowed)
{
    char route[1024];
    memset(route, 'a', sizeof(route) - 1);
    route[0] = '/';
    route[sizeof(route) - 1] = '\0';
    crm_metrics_observe_request(m, route, "VERYLONGMETHODNAME", 200, 0.01);
    char name[512];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    crm_metrics_counter_add(m, name, "help", 1);
    render();
    ck_assert_uint_eq(count_lines_starting("crm_http_requests_total{"), 1);
    ck_assert_ptr_null(strstr(text, route));
}
END_TEST

START_TEST(test_free_null)
{
    crm_metrics_free(NULL);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *suite = suite_create("metrics");
    TCase *tc = tcase_create("registry");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_empty_registry);
    tcase_add_test(tc, test_request_counters_and_histogram);
    tcase_add_test(tc, test_bucket_bounds_are_inclusive);
    tcase_add_test(tc, test_counters_and_gauges);
    tcase_add_test(tc, test_labelled_counters_share_one_header);
    tcase_add_test(tc, test_named_histograms);
    tcase_add_test(tc, test_large_counter_is_exact);
    tcase_add_test(tc, test_concurrent_observes_sum_exactly);
    tcase_add_test(tc, test_registry_is_bounded);
    tcase_add_test(tc, test_long_labels_are_cut_not_overflowed);
    tcase_add_test(tc, test_free_null);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(metrics_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
