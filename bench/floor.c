/* crm-bench-floor: the database floor of `make bench`. It performs the MongoDB operations of one
 * benchmark workload directly against the database, with no HTTP in between: N threads, each
 * popping a client from one libmongoc pool per operation (as the services do), for a fixed time.
 * No HTTP stack in front of the same database can beat it.
 *
 *   crm-bench-floor MODE URI SECONDS THREADS [ID]
 *   get ID      customers.findOne({_id: ID})                      as GET /api/customers/:id
 *   list        customers.find({deleted: false}) sorted by created_at, _id descending, 21 rows
 *                                                                  as GET /api/customers?limit=20
 *   cases ID    cases.find({customer_id: ID}), same sort, 21 rows  as GET /api/cases?customer_id=
 *   create      the two inserts of POST /api/customers: its revision (the commit point), then
 *               the customer document; written as already published so the relay leaves them
 *
 * Prints one line: "ops N seconds S ops_per_s R p50_us A p99_us B errors E". */
#include <bson/bson.h>
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum floor_mode { MODE_GET, MODE_LIST, MODE_CASES, MODE_CREATE } floor_mode;

typedef struct floor_run {
    floor_mode mode;
    mongoc_client_pool_t *pool;
    const char *id;
    bson_oid_t oid;
    double until; /* monotonic seconds */
} floor_run;

typedef struct worker {
    pthread_t thread;
    floor_run *run;
    int number;
    unsigned int *latencies_us;
    size_t count, cap;
    long errors;
} worker;

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int record(worker *w, double seconds)
{
    if (w->count == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 65536;
        unsigned int *grown = realloc(w->latencies_us, cap * sizeof(*grown));
        if (!grown)
            return -1;
        w->latencies_us = grown;
        w->cap = cap;
    }
    w->latencies_us[w->count++] = (unsigned int)(seconds * 1e6);
    return 0;
}

/* Reads every document of the query, as the service's store does. */
static int find_all(mongoc_collection_t *collection, const bson_t *filter, const bson_t *opts,
                    int expect_one)
{
    bson_error_t error;
    const bson_t *doc = NULL;
    int found = 0;
    mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(collection, filter, opts, NULL);
    while (mongoc_cursor_next(cursor, &doc))
        found++;
    int ok = !mongoc_cursor_error(cursor, &error) && (!expect_one || found == 1);
    mongoc_cursor_destroy(cursor);
    return ok ? 0 : -1;
}

static void append_page(bson_t *opts)
{
    BSON_APPEND_INT64(opts, "limit", 21);
    bson_t sort;
    bson_append_document_begin(opts, "sort", -1, &sort);
    BSON_APPEND_INT32(&sort, "created_at", -1);
    BSON_APPEND_INT32(&sort, "_id", -1);
    bson_append_document_end(opts, &sort);
}

/* The customer state the service writes (customer_append_state in customers/store.c). */
static void append_customer(bson_t *doc, const char *name, int64_t now_ms)
{
    bson_t contact, tags;
    BSON_APPEND_UTF8(doc, "name", name);
    bson_append_document_begin(doc, "contact_info", -1, &contact);
    BSON_APPEND_NULL(&contact, "email");
    BSON_APPEND_NULL(&contact, "phone");
    BSON_APPEND_NULL(&contact, "address");
    bson_append_document_end(doc, &contact);
    BSON_APPEND_UTF8(doc, "status", "prospect");
    bson_append_array_begin(doc, "tags", -1, &tags);
    BSON_APPEND_UTF8(&tags, "0", "bench");
    bson_append_array_end(doc, &tags);
    BSON_APPEND_DATE_TIME(doc, "created_at", now_ms);
    BSON_APPEND_DATE_TIME(doc, "updated_at", now_ms);
    BSON_APPEND_INT64(doc, "version", 1);
    BSON_APPEND_BOOL(doc, "deleted", false);
}

static int create_one(mongoc_client_t *client, int thread, long n)
{
    bson_error_t error;
    bson_oid_t oid;
    char id[25], revision[48], name[64];
    bson_t state, event;
    int64_t now_ms = (int64_t)(now_seconds() * 1000.0);
    bson_oid_init(&oid, NULL);
    bson_oid_to_string(&oid, id);
    snprintf(revision, sizeof(revision), "%s:1", id);
    snprintf(name, sizeof(name), "Floor %d-%ld", thread, n);

    bson_t *rev =
        BCON_NEW("_id", BCON_UTF8(revision), "customer_id", BCON_UTF8(id), "version", BCON_INT64(1),
                 "published", BCON_BOOL(true), "recorded_at", BCON_DATE_TIME(now_ms));
    bson_append_document_begin(rev, "state", -1, &state);
    append_customer(&state, name, now_ms);
    bson_append_document_end(rev, &state);
    bson_append_document_begin(rev, "event", -1, &event);
    BSON_APPEND_UTF8(&event, "type", "customer.created");
    BSON_APPEND_UTF8(&event, "value", "{}");
    bson_append_document_end(rev, &event);
    bson_t *doc = BCON_NEW("_id", BCON_OID(&oid));
    append_customer(doc, name, now_ms);

    mongoc_collection_t *revisions =
        mongoc_client_get_collection(client, "crm_customers", "customer_revisions");
    mongoc_collection_t *customers =
        mongoc_client_get_collection(client, "crm_customers", "customers");
    int ok = mongoc_collection_insert_one(revisions, rev, NULL, NULL, &error) &&
             mongoc_collection_insert_one(customers, doc, NULL, NULL, &error);
    mongoc_collection_destroy(customers);
    mongoc_collection_destroy(revisions);
    bson_destroy(doc);
    bson_destroy(rev);
    return ok ? 0 : -1;
}

static int operate(worker *w, long n)
{
    floor_run *run = w->run;
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER;
    mongoc_client_t *client = mongoc_client_pool_pop(run->pool);
    mongoc_collection_t *collection = NULL;
    int rc = -1;
    switch (run->mode) {
    case MODE_GET: /* by _id alone, "deleted" checked on the document (customer_store_find) */
        BSON_APPEND_OID(&filter, "_id", &run->oid);
        BSON_APPEND_INT64(&opts, "limit", 1);
        collection = mongoc_client_get_collection(client, "crm_customers", "customers");
        rc = find_all(collection, &filter, &opts, 1);
        break;
    case MODE_LIST:
        BSON_APPEND_BOOL(&filter, "deleted", false);
        append_page(&opts);
        collection = mongoc_client_get_collection(client, "crm_customers", "customers");
        rc = find_all(collection, &filter, &opts, 0);
        break;
    case MODE_CASES:
        BSON_APPEND_UTF8(&filter, "customer_id", run->id);
        append_page(&opts);
        collection = mongoc_client_get_collection(client, "crm_cases", "cases");
        rc = find_all(collection, &filter, &opts, 0);
        break;
    case MODE_CREATE:
        rc = create_one(client, w->number, n);
        break;
    }
    mongoc_collection_destroy(collection);
    mongoc_client_pool_push(run->pool, client);
    bson_destroy(&filter);
    bson_destroy(&opts);
    return rc;
}

static void *work(void *arg)
{
    worker *w = arg;
    for (long n = 0;; n++) {
        double started = now_seconds();
        if (started >= w->run->until)
            break;
        if (operate(w, n) != 0)
            w->errors++;
        else if (record(w, now_seconds() - started) != 0)
            break;
    }
    return NULL;
}

static int compare_uint(const void *a, const void *b)
{
    unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;
    return (x > y) - (x < y);
}

/* The driver's warnings (FerretDB has no endSessions) would only clutter the result line. */
static void quiet(mongoc_log_level_t level, const char *domain, const char *message, void *context)
{
    (void)domain;
    (void)context;
    if (level <= MONGOC_LOG_LEVEL_CRITICAL)
        fprintf(stderr, "floor: %s\n", message);
}

static int usage(void)
{
    fprintf(stderr, "usage: crm-bench-floor get|list|cases|create URI SECONDS THREADS [ID]\n");
    return 2;
}

int main(int argc, char **argv)
{
    floor_run run = {0};
    bson_error_t error;
    if (argc < 5)
        return usage();
    const char *mode = argv[1];
    double seconds = atof(argv[3]);
    int threads = atoi(argv[4]);
    run.id = argc > 5 ? argv[5] : NULL;
    if (strcmp(mode, "get") == 0)
        run.mode = MODE_GET;
    else if (strcmp(mode, "list") == 0)
        run.mode = MODE_LIST;
    else if (strcmp(mode, "cases") == 0)
        run.mode = MODE_CASES;
    else if (strcmp(mode, "create") == 0)
        run.mode = MODE_CREATE;
    else
        return usage();
    if (seconds <= 0 || threads < 1 || threads > 1024 ||
        ((run.mode == MODE_GET || run.mode == MODE_CASES) && !run.id) ||
        (run.mode == MODE_GET && !bson_oid_is_valid(run.id, strlen(run.id))))
        return usage();
    if (run.mode == MODE_GET)
        bson_oid_init_from_string(&run.oid, run.id);

    mongoc_log_set_handler(quiet, NULL);
    mongoc_init();
    mongoc_uri_t *uri = mongoc_uri_new_with_error(argv[2], &error);
    if (!uri) {
        fprintf(stderr, "floor: bad URI: %s\n", error.message);
        return 2;
    }
    run.pool = mongoc_client_pool_new(uri);
    mongoc_client_pool_set_error_api(run.pool, MONGOC_ERROR_API_VERSION_2);
    mongoc_client_pool_max_size(run.pool, (uint32_t)threads);
    worker *workers = calloc((size_t)threads, sizeof(*workers));
    if (!workers)
        return 1;

    /* Every connection of the pool is opened (a ping on each client held at once) and the
     * operation tried once before the clock starts. */
    mongoc_client_t **held = calloc((size_t)threads, sizeof(*held));
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
    for (int i = 0; held && i < threads; i++) {
        held[i] = mongoc_client_pool_pop(run.pool);
        if (!mongoc_client_command_simple(held[i], "admin", ping, NULL, NULL, &error)) {
            fprintf(stderr, "floor: no database at %s: %s\n", argv[2], error.message);
            return 1;
        }
    }
    for (int i = 0; held && i < threads; i++)
        mongoc_client_pool_push(run.pool, held[i]);
    free(held);
    bson_destroy(ping);
    for (int i = 0; i < threads; i++)
        workers[i] = (worker){.run = &run, .number = i};
    if (operate(&workers[0], -1) != 0) {
        fprintf(stderr, "floor: the %s operation fails\n", mode);
        return 1;
    }
    double started = now_seconds();
    run.until = started + seconds;
    for (int i = 0; i < threads; i++)
        pthread_create(&workers[i].thread, NULL, work, &workers[i]);
    size_t total = 0;
    long errors = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(workers[i].thread, NULL);
        total += workers[i].count;
        errors += workers[i].errors;
    }
    double elapsed = now_seconds() - started;

    unsigned int *all = malloc((total ? total : 1) * sizeof(*all));
    size_t n = 0;
    for (int i = 0; all && i < threads; i++) {
        memcpy(all + n, workers[i].latencies_us, workers[i].count * sizeof(*all));
        n += workers[i].count;
        free(workers[i].latencies_us);
    }
    if (!all)
        return 1;
    qsort(all, n, sizeof(*all), compare_uint);
    unsigned int p50 = n ? all[(size_t)(0.50 * (double)(n - 1))] : 0;
    unsigned int p99 = n ? all[(size_t)(0.99 * (double)(n - 1))] : 0;
    printf("ops %zu seconds %.3f ops_per_s %.1f p50_us %u p99_us %u errors %ld\n", n, elapsed,
           (double)n / elapsed, p50, p99, errors);

    free(all);
    free(workers);
    mongoc_client_pool_destroy(run.pool);
    mongoc_uri_destroy(uri);
    mongoc_cleanup();
    return 0;
}
