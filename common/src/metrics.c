/* A small fixed-capacity registry behind one mutex: enough for a few dozen routes, rendered in
 * the Prometheus text format. */
#include "crm/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REQUEST_SERIES  256
#define MAX_DURATION_SERIES 128
#define MAX_NAMED_SERIES    64
#define MAX_HISTOGRAMS      32
#define BUCKET_COUNT        13

static const double bucket_bounds[BUCKET_COUNT] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                   0.1,    0.25,  0.5,    1,     2.5,  5};

typedef struct request_series {
    char route[96];
    char method[12];
    unsigned int status;
    unsigned long long count;
} request_series;

typedef struct duration_series {
    char route[96];
    char method[12];
    unsigned long long buckets[BUCKET_COUNT]; /* non-cumulative; summed when rendered */
    unsigned long long count;
    double sum;
} duration_series;

typedef struct named_series {
    char name[96];
    char help[160];
    char labels[96]; /* "" or a preformatted label list */
    int is_gauge;
    double value;
} named_series;

typedef struct named_histogram {
    char name[96];
    char help[160];
    char labels[96];
    unsigned long long buckets[BUCKET_COUNT]; /* non-cumulative; summed when rendered */
    unsigned long long count;
    double sum;
} named_histogram;

struct crm_metrics {
    pthread_mutex_t lock;
    char service[32];
    request_series requests[MAX_REQUEST_SERIES];
    size_t request_count;
    duration_series durations[MAX_DURATION_SERIES];
    size_t duration_count;
    named_series named[MAX_NAMED_SERIES];
    size_t named_count;
    named_histogram histograms[MAX_HISTOGRAMS];
    size_t histogram_count;
};

crm_metrics *crm_metrics_new(const char *service)
{
    crm_metrics *metrics = calloc(1, sizeof(*metrics));
    if (!metrics)
        return NULL;
    pthread_mutex_init(&metrics->lock, NULL);
    snprintf(metrics->service, sizeof(metrics->service), "%s", service);
    return metrics;
}

void crm_metrics_free(crm_metrics *metrics)
{
    if (!metrics)
        return;
    pthread_mutex_destroy(&metrics->lock);
    free(metrics);
}

static request_series *request_series_find(crm_metrics *m, const char *route, const char *method,
                                           unsigned int status)
{
    for (size_t i = 0; i < m->request_count; i++) {
        request_series *s = &m->requests[i];
        if (s->status == status && strcmp(s->route, route) == 0 && strcmp(s->method, method) == 0)
            return s;
    }
    if (m->request_count == MAX_REQUEST_SERIES)
        return NULL;
    request_series *s = &m->requests[m->request_count++];
    snprintf(s->route, sizeof(s->route), "%s", route);
    snprintf(s->method, sizeof(s->method), "%s", method);
    s->status = status;
    return s;
}

static duration_series *duration_series_find(crm_metrics *m, const char *route, const char *method)
{
    for (size_t i = 0; i < m->duration_count; i++) {
        duration_series *s = &m->durations[i];
        if (strcmp(s->route, route) == 0 && strcmp(s->method, method) == 0)
            return s;
    }
    if (m->duration_count == MAX_DURATION_SERIES)
        return NULL;
    duration_series *s = &m->durations[m->duration_count++];
    snprintf(s->route, sizeof(s->route), "%s", route);
    snprintf(s->method, sizeof(s->method), "%s", method);
    return s;
}

static size_t bucket_of(double seconds)
{
    size_t bucket = 0;
    while (bucket < BUCKET_COUNT && seconds > bucket_bounds[bucket])
        bucket++;
    return bucket;
}

void crm_metrics_observe_request(crm_metrics *metrics, const char *route, const char *method,
                                 unsigned int status, double seconds)
{
    size_t bucket = bucket_of(seconds);
    pthread_mutex_lock(&metrics->lock);
    request_series *r = request_series_find(metrics, route, method, status);
    if (r)
        r->count++;
    duration_series *d = duration_series_find(metrics, route, method);
    if (d) {
        if (bucket < BUCKET_COUNT)
            d->buckets[bucket]++;
        d->count++;
        d->sum += seconds;
    }
    pthread_mutex_unlock(&metrics->lock);
}

static void named_update(crm_metrics *m, const char *name, const char *help, const char *labels,
                         int is_gauge, double value)
{
    labels = labels ? labels : "";
    pthread_mutex_lock(&m->lock);
    named_series *s = NULL;
    for (size_t i = 0; i < m->named_count && !s; i++) {
        if (strcmp(m->named[i].name, name) == 0 && strcmp(m->named[i].labels, labels) == 0)
            s = &m->named[i];
    }
    if (!s && m->named_count < MAX_NAMED_SERIES) {
        s = &m->named[m->named_count++];
        snprintf(s->name, sizeof(s->name), "%s", name);
        snprintf(s->help, sizeof(s->help), "%s", help);
        snprintf(s->labels, sizeof(s->labels), "%s", labels);
        s->is_gauge = is_gauge;
    }
    if (s)
        s->value = is_gauge ? value : s->value + value;
    pthread_mutex_unlock(&m->lock);
}

void crm_metrics_counter_add(crm_metrics *metrics, const char *name, const char *help, double delta)
{
    named_update(metrics, name, help, NULL, 0, delta);
}

void crm_metrics_counter_add_labelled(crm_metrics *metrics, const char *name, const char *help,
                                      const char *labels, double delta)
{
    named_update(metrics, name, help, labels, 0, delta);
}

void crm_metrics_gauge_set(crm_metrics *metrics, const char *name, const char *help, double value)
{
    named_update(metrics, name, help, NULL, 1, value);
}

void crm_metrics_histogram_observe(crm_metrics *metrics, const char *name, const char *help,
                                   const char *labels, double seconds)
{
    size_t bucket = bucket_of(seconds);
    labels = labels ? labels : "";
    pthread_mutex_lock(&metrics->lock);
    named_histogram *h = NULL;
    for (size_t i = 0; i < metrics->histogram_count && !h; i++) {
        named_histogram *candidate = &metrics->histograms[i];
        if (strcmp(candidate->name, name) == 0 && strcmp(candidate->labels, labels) == 0)
            h = candidate;
    }
    if (!h && metrics->histogram_count < MAX_HISTOGRAMS) {
        h = &metrics->histograms[metrics->histogram_count++];
        snprintf(h->name, sizeof(h->name), "%s", name);
        snprintf(h->help, sizeof(h->help), "%s", help);
        snprintf(h->labels, sizeof(h->labels), "%s", labels);
    }
    if (h) {
        if (bucket < BUCKET_COUNT)
            h->buckets[bucket]++;
        h->count++;
        h->sum += seconds;
    }
    pthread_mutex_unlock(&metrics->lock);
}

/* An append-only text buffer; `failed` sticks once memory runs out. */
typedef struct text_buffer {
    char *data;
    size_t len, cap;
    int failed;
} text_buffer;

static void append(text_buffer *b, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void append(text_buffer *b, const char *format, ...)
{
    va_list args;
    if (b->failed)
        return;
    for (;;) {
        va_start(args, format);
        int n = vsnprintf(b->data + b->len, b->cap - b->len, format, args);
        va_end(args);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *data = realloc(b->data, cap);
        if (!data) {
            b->failed = 1;
            return;
        }
        b->data = data;
        b->cap = cap;
    }
}

/* The label list after service="...": "" or ",<labels>". */
static const char *comma(const char *labels)
{
    return labels[0] ? "," : "";
}

/* Series of one name share one HELP and TYPE, so each name's series are written together. */
static void render_named(text_buffer *b, const crm_metrics *m)
{
    for (size_t i = 0; i < m->named_count; i++) {
        const named_series *first = &m->named[i];
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(m->named[j].name, first->name) == 0;
        if (seen)
            continue;
        append(b, "# HELP %s %s\n# TYPE %s %s\n", first->name, first->help, first->name,
               first->is_gauge ? "gauge" : "counter");
        for (size_t j = i; j < m->named_count; j++) {
            const named_series *s = &m->named[j];
            if (strcmp(s->name, first->name) == 0)
                append(b, "%s{service=\"%s\"%s%s} %.17g\n", s->name, m->service, comma(s->labels),
                       s->labels, s->value);
        }
    }
}

static void render_histogram(text_buffer *b, const char *service, const named_histogram *h)
{
    unsigned long long cumulative = 0;
    for (size_t k = 0; k < BUCKET_COUNT; k++) {
        cumulative += h->buckets[k];
        append(b, "%s_bucket{service=\"%s\"%s%s,le=\"%g\"} %llu\n", h->name, service,
               comma(h->labels), h->labels, bucket_bounds[k], cumulative);
    }
    append(b, "%s_bucket{service=\"%s\"%s%s,le=\"+Inf\"} %llu\n", h->name, service,
           comma(h->labels), h->labels, h->count);
    append(b, "%s_sum{service=\"%s\"%s%s} %.6f\n", h->name, service, comma(h->labels), h->labels,
           h->sum);
    append(b, "%s_count{service=\"%s\"%s%s} %llu\n", h->name, service, comma(h->labels), h->labels,
           h->count);
}

static void render_histograms(text_buffer *b, const crm_metrics *m)
{
    for (size_t i = 0; i < m->histogram_count; i++) {
        const named_histogram *first = &m->histograms[i];
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(m->histograms[j].name, first->name) == 0;
        if (seen)
            continue;
        append(b, "# HELP %s %s\n# TYPE %s histogram\n", first->name, first->help, first->name);
        for (size_t j = i; j < m->histogram_count; j++) {
            if (strcmp(m->histograms[j].name, first->name) == 0)
                render_histogram(b, m->service, &m->histograms[j]);
        }
    }
}

char *crm_metrics_render(crm_metrics *metrics)
{
    text_buffer b = {.data = malloc(4096), .cap = 4096};
    if (!b.data)
        return NULL;
    b.data[0] = '\0';
    const char *svc = metrics->service;

    pthread_mutex_lock(&metrics->lock);
    append(&b, "# HELP crm_http_requests_total HTTP requests answered.\n"
               "# TYPE crm_http_requests_total counter\n");
    for (size_t i = 0; i < metrics->request_count; i++) {
        const request_series *s = &metrics->requests[i];
        append(&b,
               "crm_http_requests_total{service=\"%s\",route=\"%s\",method=\"%s\",status=\"%u\"} "
               "%llu\n",
               svc, s->route, s->method, s->status, s->count);
    }
    append(&b, "# HELP crm_http_request_duration_seconds Time to answer a request.\n"
               "# TYPE crm_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < metrics->duration_count; i++) {
        const duration_series *s = &metrics->durations[i];
        unsigned long long cumulative = 0;
        for (size_t k = 0; k < BUCKET_COUNT; k++) {
            cumulative += s->buckets[k];
            append(&b,
                   "crm_http_request_duration_seconds_bucket{service=\"%s\",route=\"%s\","
                   "method=\"%s\",le=\"%g\"} %llu\n",
                   svc, s->route, s->method, bucket_bounds[k], cumulative);
        }
        append(&b,
               "crm_http_request_duration_seconds_bucket{service=\"%s\",route=\"%s\","
               "method=\"%s\",le=\"+Inf\"} %llu\n",
               svc, s->route, s->method, s->count);
        append(&b,
               "crm_http_request_duration_seconds_sum{service=\"%s\",route=\"%s\",method=\"%s\"} "
               "%.6f\n",
               svc, s->route, s->method, s->sum);
        append(&b,
               "crm_http_request_duration_seconds_count{service=\"%s\",route=\"%s\","
               "method=\"%s\"} %llu\n",
               svc, s->route, s->method, s->count);
    }
    render_named(&b, metrics);
    render_histograms(&b, metrics);
    pthread_mutex_unlock(&metrics->lock);

    if (b.failed) {
        free(b.data);
        return NULL;
    }
    return b.data;
}
