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
    int is_gauge;
    double value;
} named_series;

struct crm_metrics {
    pthread_mutex_t lock;
    char service[32];
    request_series requests[MAX_REQUEST_SERIES];
    size_t request_count;
    duration_series durations[MAX_DURATION_SERIES];
    size_t duration_count;
    named_series named[MAX_NAMED_SERIES];
    size_t named_count;
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

void crm_metrics_observe_request(crm_metrics *metrics, const char *route, const char *method,
                                 unsigned int status, double seconds)
{
    size_t bucket = 0;
    while (bucket < BUCKET_COUNT && seconds > bucket_bounds[bucket])
        bucket++;
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

static void named_update(crm_metrics *m, const char *name, const char *help, int is_gauge,
                         double value)
{
    pthread_mutex_lock(&m->lock);
    named_series *s = NULL;
    for (size_t i = 0; i < m->named_count && !s; i++) {
        if (strcmp(m->named[i].name, name) == 0)
            s = &m->named[i];
    }
    if (!s && m->named_count < MAX_NAMED_SERIES) {
        s = &m->named[m->named_count++];
        snprintf(s->name, sizeof(s->name), "%s", name);
        snprintf(s->help, sizeof(s->help), "%s", help);
        s->is_gauge = is_gauge;
    }
    if (s)
        s->value = is_gauge ? value : s->value + value;
    pthread_mutex_unlock(&m->lock);
}

void crm_metrics_counter_add(crm_metrics *metrics, const char *name, const char *help, double delta)
{
    named_update(metrics, name, help, 0, delta);
}

void crm_metrics_gauge_set(crm_metrics *metrics, const char *name, const char *help, double value)
{
    named_update(metrics, name, help, 1, value);
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
    for (size_t i = 0; i < metrics->named_count; i++) {
        const named_series *s = &metrics->named[i];
        append(&b, "# HELP %s %s\n# TYPE %s %s\n%s{service=\"%s\"} %.17g\n", s->name, s->help,
               s->name, s->is_gauge ? "gauge" : "counter", s->name, svc, s->value);
    }
    pthread_mutex_unlock(&metrics->lock);

    if (b.failed) {
        free(b.data);
        return NULL;
    }
    return b.data;
}
