/* The customers store against a real FerretDB (the integration stack's): the revision arbiter
 * under concurrency, the outbox order, tombstones, healing a half-written change, keyset pages. */
#include "crm/util.h"
#include "store.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static crm_mongo *mongo;
static char database[48];

static void setup(void)
{
    char err[256], uuid[CRM_UUID_LEN];
    const char *uri = getenv("CRM_MONGO_URI");
    ck_assert_msg(uri != NULL, "CRM_MONGO_URI is not set");
    crm_uuid_v4(uuid);
    snprintf(database, sizeof(database), "test_customers_%.8s", uuid);
    mongo = crm_mongo_new(uri, database, "test_customers_store", err, sizeof(err));
    ck_assert_msg(mongo != NULL, "%s", err);
    ck_assert_int_eq(customers_store_prepare(mongo), CRM_STORE_OK);
}

static void teardown(void)
{
    bson_error_t error;
    mongoc_client_t *client = crm_mongo_pop(mongo);
    mongoc_database_t *db = mongoc_client_get_database(client, database);
    mongoc_database_drop(db, &error);
    mongoc_database_destroy(db);
    crm_mongo_push(mongo, client);
    crm_mongo_free(mongo);
}

static void customer_make(customer *c, const char *name, long long created_at)
{
    memset(c, 0, sizeof(*c));
    c->name = strdup(name);
    snprintf(c->status, sizeof(c->status), "lead");
    c->created_at = c->updated_at = created_at;
    c->version = 1;
}

static void insert_named(customer *c, const char *name, long long created_at)
{
    customer_make(c, name, created_at);
    ck_assert_int_eq(customer_store_insert(mongo, c, "rid-create"), CRM_STORE_OK);
}

START_TEST(test_insert_find)
{
    customer c, found;
    insert_named(&c, "Ada", crm_time_now_ms());
    ck_assert_int_eq(customer_store_find(mongo, c.id, &found), CRM_STORE_OK);
    ck_assert_str_eq(found.id, c.id);
    ck_assert_str_eq(found.name, "Ada");
    ck_assert_int_eq(found.version, 1);
    ck_assert_int_eq(found.created_at, c.created_at);
    customer_clean(&found);
    ck_assert_int_eq(customer_store_find(mongo, "0123456789abcdef01234567", &found),
                     CRM_STORE_NOT_FOUND);
    customer_clean(&found);
    customer_clean(&c);
}
END_TEST

#define RACERS 8

typedef struct racer {
    const customer *base;
    int index;
    crm_store_status status;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    customer next;
    char name[32];
    customer_copy(&next, r->base);
    free(next.name);
    snprintf(name, sizeof(name), "racer %d", r->index);
    next.name = strdup(name);
    next.version = r->base->version + 1;
    r->status = customer_store_update(mongo, &next, r->base->version, "rid-race");
    customer_clean(&next);
    return NULL;
}

START_TEST(test_concurrent_updates_one_wins)
{
    customer c, found;
    pthread_t threads[RACERS];
    racer racers[RACERS];
    insert_named(&c, "Contested", crm_time_now_ms());
    for (int i = 0; i < RACERS; i++) {
        racers[i] = (racer){&c, i, CRM_STORE_UNAVAILABLE};
        pthread_create(&threads[i], NULL, race, &racers[i]);
    }
    int winners = 0, winner = -1;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(threads[i], NULL);
        if (racers[i].status == CRM_STORE_OK) {
            winners++;
            winner = i;
        } else {
            ck_assert_int_eq(racers[i].status, CRM_STORE_CONFLICT);
        }
    }
    ck_assert_int_eq(winners, 1);
    ck_assert_int_eq(customer_store_find(mongo, c.id, &found), CRM_STORE_OK);
    ck_assert_int_eq(found.version, 2);
    char name[32];
    snprintf(name, sizeof(name), "racer %d", winner);
    ck_assert_str_eq(found.name, name);
    customer_clean(&found);
    customer_clean(&c);
}
END_TEST

static void update_name(customer *c, const char *name)
{
    customer next;
    customer_copy(&next, c);
    free(next.name);
    next.name = strdup(name);
    next.version = c->version + 1;
    ck_assert_int_eq(customer_store_update(mongo, &next, c->version, "rid-update"), CRM_STORE_OK);
    customer_clean(c);
    *c = next;
}

START_TEST(test_outbox_in_order_and_tombstone)
{
    customer c, other, found;
    outbox_event *events = NULL;
    size_t count = 0;
    customer_filters filters = {0};
    crm_list_params list = {0};
    customer *rows = NULL;
    size_t rows_count = 0;
    long long backlog = 0;

    insert_named(&c, "Ordered", crm_time_now_ms());
    insert_named(&other, "Bystander", crm_time_now_ms());
    update_name(&c, "Ordered 2");
    update_name(&c, "Ordered 3");
    ck_assert_int_eq(customer_store_delete(mongo, &c, "rid-delete"), CRM_STORE_OK);

    /* A tombstone: invisible to get and to lists. */
    ck_assert_int_eq(customer_store_find(mongo, c.id, &found), CRM_STORE_NOT_FOUND);
    filters.created_after = filters.created_before = -1;
    list.limit = 100;
    snprintf(list.sort_field, sizeof(list.sort_field), "created_at");
    list.descending = 1;
    ck_assert_int_eq(customer_store_list(mongo, &list, &filters, &rows, &rows_count), CRM_STORE_OK);
    ck_assert_uint_eq(rows_count, 1);
    ck_assert_str_eq(rows[0].id, other.id);
    customer_clean(&rows[0]);
    free(rows);

    ck_assert_int_eq(outbox_store_backlog(mongo, &backlog), CRM_STORE_OK);
    ck_assert_int_eq(backlog, 5);
    ck_assert_int_eq(outbox_store_pending(mongo, 100, &events, &count), CRM_STORE_OK);
    ck_assert_uint_eq(count, 5);
    static const char *const types[] = {"customer.created", "customer.updated", "customer.updated",
                                        "customer.deleted"};
    long long expected = 1;
    for (size_t i = 0; i < count; i++) {
        if (strcmp(events[i].customer_id, c.id) != 0)
            continue;
        ck_assert_int_eq(events[i].version, expected);
        ck_assert_str_eq(events[i].type, types[expected - 1]);
        json_t *value = json_loads(events[i].value, 0, NULL);
        ck_assert_str_eq(json_string_value(json_object_get(value, "type")), events[i].type);
        ck_assert_str_eq(json_string_value(json_object_get(value, "customer_id")), c.id);
        ck_assert_str_eq(events[i].request_id, expected == 1   ? "rid-create"
                                               : expected == 4 ? "rid-delete"
                                                               : "rid-update");
        if (expected == 4)
            ck_assert(json_is_null(json_object_get(value, "customer")));
        else
            ck_assert_int_eq(
                json_integer_value(json_object_get(json_object_get(value, "customer"), "version")),
                expected);
        json_decref(value);
        expected++;
    }
    ck_assert_int_eq(expected, 5);

    /* Published in order; the tombstone goes with its event. */
    for (size_t i = 0; i < count; i++) {
        ck_assert_int_eq(outbox_store_mark_published(mongo, &events[i]), CRM_STORE_OK);
        if (strcmp(events[i].type, "customer.deleted") == 0)
            ck_assert_int_eq(outbox_store_remove_tombstone(mongo, events[i].customer_id),
                             CRM_STORE_OK);
        outbox_event_clean(&events[i]);
    }
    free(events);
    ck_assert_int_eq(outbox_store_pending(mongo, 100, &events, &count), CRM_STORE_OK);
    ck_assert_uint_eq(count, 0);
    free(events);
    ck_assert_int_eq(customer_store_find(mongo, c.id, &found), CRM_STORE_NOT_FOUND);
    customer_clean(&c);
    customer_clean(&other);
}
END_TEST

static long long revisions_count(void)
{
    bson_error_t error;
    bson_t *filter = bson_new();
    crm_mongo_session s = crm_mongo_session_open(mongo, CUSTOMER_REVISIONS);
    int64_t n = mongoc_collection_count_documents(s.collection, filter, NULL, NULL, NULL, &error);
    crm_mongo_session_close(&s);
    bson_destroy(filter);
    return n;
}

START_TEST(test_prune_keeps_unpublished_and_recent)
{
    customer a, b;
    outbox_event *events = NULL;
    size_t count = 0;
    long long backlog = 0;
    insert_named(&a, "Published", crm_time_now_ms());
    ck_assert_int_eq(outbox_store_pending(mongo, 10, &events, &count), CRM_STORE_OK);
    ck_assert_uint_eq(count, 1);
    ck_assert_int_eq(outbox_store_mark_published(mongo, &events[0]), CRM_STORE_OK);
    outbox_event_clean(&events[0]);
    free(events);
    insert_named(&b, "Pending", crm_time_now_ms());
    ck_assert_int_eq(revisions_count(), 2);
    ck_assert_int_eq(outbox_store_prune(mongo, crm_time_now_ms() - 60000), CRM_STORE_OK);
    ck_assert_int_eq(revisions_count(), 2); /* published too recently */
    ck_assert_int_eq(outbox_store_prune(mongo, crm_time_now_ms() + 60000), CRM_STORE_OK);
    ck_assert_int_eq(revisions_count(), 1); /* the unpublished one stays */
    ck_assert_int_eq(outbox_store_backlog(mongo, &backlog), CRM_STORE_OK);
    ck_assert_int_eq(backlog, 1);
    /* A tombstone left behind goes with the prune. */
    customer live;
    ck_assert_int_eq(customer_store_delete(mongo, &a, NULL), CRM_STORE_OK);
    ck_assert_int_eq(outbox_store_prune(mongo, crm_time_now_ms() + 60000), CRM_STORE_OK);
    bson_oid_t oid;
    bson_error_t error;
    bson_oid_init_from_string(&oid, a.id);
    bson_t *filter = BCON_NEW("_id", BCON_OID(&oid));
    crm_mongo_session s = crm_mongo_session_open(mongo, CUSTOMERS);
    ck_assert_int_eq(
        mongoc_collection_count_documents(s.collection, filter, NULL, NULL, NULL, &error), 0);
    crm_mongo_session_close(&s);
    bson_destroy(filter);
    ck_assert_int_eq(customer_store_find(mongo, b.id, &live), CRM_STORE_OK);
    customer_clean(&live);
    customer_clean(&a);
    customer_clean(&b);
}
END_TEST

START_TEST(test_heal_half_written_change)
{
    customer c, found;
    bson_error_t error;
    bson_oid_t oid;
    insert_named(&c, "Before", crm_time_now_ms());
    update_name(&c, "After");
    /* Simulate a writer that died after its revision insert: put version 1 back. */
    bson_oid_init_from_string(&oid, c.id);
    bson_t *filter = BCON_NEW("_id", BCON_OID(&oid));
    bson_t *update =
        BCON_NEW("$set", "{", "version", BCON_INT64(1), "name", BCON_UTF8("Before"), "}");
    crm_mongo_session s = crm_mongo_session_open(mongo, CUSTOMERS);
    ck_assert(mongoc_collection_update_one(s.collection, filter, update, NULL, NULL, &error));
    crm_mongo_session_close(&s);
    bson_destroy(filter);
    bson_destroy(update);

    ck_assert_int_eq(customer_store_find(mongo, c.id, &found), CRM_STORE_OK);
    ck_assert_int_eq(found.version, 1);
    customer_clean(&found);
    ck_assert_int_eq(customer_store_heal(mongo, c.id, 1), CRM_STORE_OK);
    ck_assert_int_eq(customer_store_find(mongo, c.id, &found), CRM_STORE_OK);
    ck_assert_int_eq(found.version, 2);
    ck_assert_str_eq(found.name, "After");
    ck_assert_int_eq(customer_store_heal(mongo, c.id, 2), CRM_STORE_NOT_FOUND);
    /* A later writer of version 2 loses against the revision already there. */
    customer stale;
    customer_copy(&stale, &found);
    stale.version = 2;
    ck_assert_int_eq(customer_store_update(mongo, &stale, 1, "rid-stale"), CRM_STORE_CONFLICT);
    customer_clean(&stale);
    customer_clean(&found);
    customer_clean(&c);
}
END_TEST

/* Applies revision 1 of `id` the way the relay does; 1 once the customer is back. */
static int relay_applied(const char *id)
{
    outbox_event *events = NULL;
    size_t count = 0;
    customer found;
    int back = 0;
    ck_assert_int_eq(outbox_store_pending(mongo, 10, &events, &count), CRM_STORE_OK);
    for (size_t i = 0; i < count; i++) {
        if (strcmp(events[i].customer_id, id) == 0)
            ck_assert_int_eq(outbox_store_apply(mongo, &events[i]), CRM_STORE_OK);
        outbox_event_clean(&events[i]);
    }
    free(events);
    if (customer_store_find(mongo, id, &found) == CRM_STORE_OK)
        back = 1;
    customer_clean(&found);
    return back;
}

START_TEST(test_relay_completes_a_lost_create)
{
    customer c;
    bson_error_t error;
    bson_oid_t oid;
    insert_named(&c, "Lost", crm_time_now_ms());
    /* Simulate a writer that died after revision 1 and before the customer document. */
    bson_oid_init_from_string(&oid, c.id);
    bson_t *filter = BCON_NEW("_id", BCON_OID(&oid));
    crm_mongo_session s = crm_mongo_session_open(mongo, CUSTOMERS);
    ck_assert(mongoc_collection_delete_one(s.collection, filter, NULL, NULL, &error));
    crm_mongo_session_close(&s);
    bson_destroy(filter);
    /* A fresh revision is left to its writer; once stale, the relay completes it. */
    ck_assert_int_eq(relay_applied(c.id), 0);
    double deadline = crm_monotonic_seconds() + 10;
    while (!relay_applied(c.id) && crm_monotonic_seconds() < deadline) {
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    customer found;
    ck_assert_int_eq(customer_store_find(mongo, c.id, &found), CRM_STORE_OK);
    ck_assert_str_eq(found.name, "Lost");
    ck_assert_int_eq(found.version, 1);
    customer_clean(&found);
    customer_clean(&c);
}
END_TEST

START_TEST(test_relay_never_resurrects_a_removed_customer)
{
    customer c, found;
    insert_named(&c, "Gone", crm_time_now_ms());
    ck_assert_int_eq(customer_store_delete(mongo, &c, NULL), CRM_STORE_OK);
    /* The tombstone pruned while revision 1 is still unpublished (Kafka down for long). */
    ck_assert_int_eq(outbox_store_prune(mongo, crm_time_now_ms() + 60000), CRM_STORE_OK);
    /* Past the age at which the relay completes revisions, applying revision 1 alone (the
     * end of a batch) writes nothing. */
    double until = crm_monotonic_seconds() + 1.5;
    while (crm_monotonic_seconds() < until) {
        outbox_event *events = NULL;
        size_t count = 0;
        ck_assert_int_eq(outbox_store_pending(mongo, 10, &events, &count), CRM_STORE_OK);
        for (size_t i = 0; i < count; i++) {
            if (strcmp(events[i].customer_id, c.id) == 0 && events[i].version == 1)
                ck_assert_int_eq(outbox_store_apply(mongo, &events[i]), CRM_STORE_OK);
            outbox_event_clean(&events[i]);
        }
        free(events);
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    ck_assert_int_eq(customer_store_find(mongo, c.id, &found), CRM_STORE_NOT_FOUND);
    bson_error_t error;
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, c.id);
    bson_t *filter = BCON_NEW("_id", BCON_OID(&oid));
    crm_mongo_session s = crm_mongo_session_open(mongo, CUSTOMERS);
    ck_assert_int_eq(
        mongoc_collection_count_documents(s.collection, filter, NULL, NULL, NULL, &error), 0);
    crm_mongo_session_close(&s);
    bson_destroy(filter);
    customer_clean(&c);
}
END_TEST

START_TEST(test_keyset_pages_by_name)
{
    static const char *const names[] = {"b", "a", "B", "c", "a", "\xc3\xa9", "A"};
    const size_t n = sizeof(names) / sizeof(names[0]);
    customer c;
    long long now = crm_time_now_ms();
    for (size_t i = 0; i < n; i++) {
        insert_named(&c, names[i], now + (long long)i);
        customer_clean(&c);
    }
    crm_list_params list = {0};
    customer_filters filters = {0};
    filters.created_after = filters.created_before = -1;
    list.limit = 2;
    snprintf(list.sort_field, sizeof(list.sort_field), "name");
    static const char *const expected[] = {"A", "B", "a", "a", "b", "c", "\xc3\xa9"};
    size_t seen = 0;
    for (int page = 0; page < 10; page++) {
        customer *rows = NULL;
        size_t count = 0;
        ck_assert_int_eq(customer_store_list(mongo, &list, &filters, &rows, &count), CRM_STORE_OK);
        size_t shown = count > 2 ? 2 : count;
        for (size_t i = 0; i < shown; i++)
            ck_assert_str_eq(rows[i].name, expected[seen++]);
        if (count > shown) {
            json_decref(list.after_value);
            list.after_value = json_string(rows[shown - 1].name);
            snprintf(list.after_id, sizeof(list.after_id), "%s", rows[shown - 1].id);
        }
        for (size_t i = 0; i < count; i++)
            customer_clean(&rows[i]);
        free(rows);
        if (count <= shown)
            break;
    }
    ck_assert_uint_eq(seen, n);
    json_decref(list.after_value);
}
END_TEST

START_TEST(test_filters_in_store)
{
    customer c;
    long long now = crm_time_now_ms();
    customer_make(&c, "Mary (a.k.a. M*)", now);
    c.email = strdup("MARY@Example.com");
    c.tags[0] = strdup("vip");
    c.tag_count = 1;
    snprintf(c.status, sizeof(c.status), "active");
    ck_assert_int_eq(customer_store_insert(mongo, &c, NULL), CRM_STORE_OK);
    customer_clean(&c);
    insert_named(&c, "Maryland", now + 10);
    customer_clean(&c);

    static const struct {
        const char *q, *tag;
        const char *status;
        long long after, before;
        size_t want;
    } cases[] = {
        {"mary", NULL, NULL, -1, -1, 2},        {"(a.k.a. m*)", NULL, NULL, -1, -1, 1},
        {"a.k", NULL, NULL, -1, -1, 1},         {"a*", NULL, NULL, -1, -1, 0},
        {"example.COM", NULL, NULL, -1, -1, 1}, {".*", NULL, NULL, -1, -1, 0},
        {NULL, "vip", NULL, -1, -1, 1},         {NULL, NULL, "active", -1, -1, 1},
        {NULL, NULL, "lead", -1, -1, 1},        {NULL, NULL, NULL, 0, 0, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        customer_filters f = {0};
        crm_list_params list = {0};
        customer *rows = NULL;
        size_t count = 0;
        list.limit = 10;
        list.descending = 1;
        snprintf(list.sort_field, sizeof(list.sort_field), "created_at");
        f.q_pattern = cases[i].q ? crm_regex_literal(cases[i].q) : NULL;
        f.tag = cases[i].tag;
        f.statuses[0] = cases[i].status;
        /* {0, 0}: the created_at window [now, now + 10) holds only the first */
        f.created_after = cases[i].after == 0 ? now : -1;
        f.created_before = cases[i].before == 0 ? now + 10 : -1;
        ck_assert_int_eq(customer_store_list(mongo, &list, &f, &rows, &count), CRM_STORE_OK);
        ck_assert_msg(count == cases[i].want, "case %zu: %zu rows", i, count);
        for (size_t j = 0; j < count; j++)
            customer_clean(&rows[j]);
        free(rows);
        customer_filters_clean(&f);
    }
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("customers_store");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_insert_find);
    tcase_add_test(tc, test_concurrent_updates_one_wins);
    tcase_add_test(tc, test_outbox_in_order_and_tombstone);
    tcase_add_test(tc, test_prune_keeps_unpublished_and_recent);
    tcase_add_test(tc, test_heal_half_written_change);
    tcase_add_test(tc, test_relay_completes_a_lost_create);
    tcase_add_test(tc, test_relay_never_resurrects_a_removed_customer);
    tcase_add_test(tc, test_keyset_pages_by_name);
    tcase_add_test(tc, test_filters_in_store);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
