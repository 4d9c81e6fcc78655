/* The cases store against a real FerretDB (the integration stack's): round trips, filters and
 * sorts, keyset paging, exactly one winner among concurrent conditional updates, the tombstone
 * race between case creation and the cascade, and replayed or malformed events. */
#include "crm/util.h"
#include "events.h"
#include "store.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRITERS  8
#define CREATORS 20

static crm_mongo *mongo;
static char database[48];

static void setup(void)
{
    char err[256], uuid[CRM_UUID_LEN];
    const char *uri = getenv("CRM_MONGO_URI");
    ck_assert_msg(uri != NULL, "CRM_MONGO_URI is not set");
    crm_uuid_v4(uuid);
    snprintf(database, sizeof(database), "test_cases_%.8s", uuid);
    mongo = crm_mongo_new(uri, database, "test_cases_store", err, sizeof(err));
    ck_assert_msg(mongo != NULL, "%s", err);
    ck_assert_int_eq(cases_store_prepare(mongo), CRM_STORE_OK);
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

static void random_id(char id[CASE_ID_LEN])
{
    bson_oid_t oid;
    bson_oid_init(&oid, NULL);
    bson_oid_to_string(&oid, id);
}

/* A new case of `customer` with `title`, `priority` and `status`, created at `at`. */
static void case_make(support_case *c, const char *customer, const char *title,
                      const char *priority, const char *status, long long at)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->customer_id, sizeof(c->customer_id), "%s", customer);
    c->title = strdup(title);
    snprintf(c->priority, sizeof(c->priority), "%s", priority);
    snprintf(c->status, sizeof(c->status), "%s", status);
    snprintf(c->created_by, sizeof(c->created_by), "%s", "aaaaaaaaaaaaaaaaaaaaaaaa");
    c->created_at = c->updated_at = at;
    c->version = 1;
}

static size_t list_count(const crm_list_params *list, const case_filters *filters,
                         support_case **rows_out)
{
    support_case *rows = NULL;
    size_t count = 0;
    ck_assert_int_eq(case_store_list(mongo, list, filters, &rows, &count), CRM_STORE_OK);
    if (rows_out) {
        *rows_out = rows;
        return count;
    }
    for (size_t i = 0; i < count; i++)
        support_case_clean(&rows[i]);
    free(rows);
    return count;
}

static void rows_free(support_case *rows, size_t count)
{
    for (size_t i = 0; i < count; i++)
        support_case_clean(&rows[i]);
    free(rows);
}

START_TEST(test_round_trip)
{
    char customer[CASE_ID_LEN];
    random_id(customer);
    support_case c, back = {0};
    case_make(&c, customer, "Printer on fire", "high", "resolved", 1000);
    c.resolved_at = 1000;
    c.description = strdup("smoke");
    ck_assert_int_eq(case_store_create(mongo, &c), CRM_STORE_OK);
    ck_assert_int_eq(case_store_find(mongo, c.id, &back), CRM_STORE_OK);
    ck_assert_str_eq(back.id, c.id);
    ck_assert_str_eq(back.customer_id, customer);
    ck_assert_str_eq(back.title, "Printer on fire");
    ck_assert_str_eq(back.description, "smoke");
    ck_assert_str_eq(back.assigned_to, "");
    ck_assert_str_eq(back.priority, "high");
    ck_assert_str_eq(back.status, "resolved");
    ck_assert_int_eq(back.resolved_at, 1000);
    ck_assert_int_eq(back.closed_at, 0);
    ck_assert_int_eq(back.version, 1);
    support_case_clean(&back);
    char missing[CASE_ID_LEN];
    random_id(missing);
    ck_assert_int_eq(case_store_find(mongo, missing, &back), CRM_STORE_NOT_FOUND);
    ck_assert_int_eq(case_store_delete(mongo, c.id, 7), CRM_STORE_CONFLICT);
    ck_assert_int_eq(case_store_delete(mongo, c.id, 1), CRM_STORE_OK);
    ck_assert_int_eq(case_store_delete(mongo, c.id, 0), CRM_STORE_NOT_FOUND);
    support_case_clean(&c);
}
END_TEST

START_TEST(test_filters_sorts_and_paging)
{
    char customer[CASE_ID_LEN], other[CASE_ID_LEN];
    random_id(customer);
    random_id(other);
    static const char *const priorities[] = {"urgent", "low", "high", "normal"};
    for (int i = 0; i < 12; i++) {
        support_case c;
        char title[32];
        snprintf(title, sizeof(title), i == 5 ? "a.b (x) %d" : "Case %d", i);
        case_make(&c, i < 10 ? customer : other, title, priorities[i % 4],
                  i % 3 == 0 ? "open" : "new", 10000 + i);
        if (i == 2)
            snprintf(c.assigned_to, sizeof(c.assigned_to), "%s", "bbbbbbbbbbbbbbbbbbbbbbbb");
        ck_assert_int_eq(case_store_create(mongo, &c), CRM_STORE_OK);
        support_case_clean(&c);
    }
    crm_list_params list = {.limit = 100, .descending = 1};
    snprintf(list.sort_field, sizeof(list.sort_field), "created_at");
    case_filters f = {0};
    snprintf(f.customer_id, sizeof(f.customer_id), "%s", customer);
    ck_assert_int_eq(list_count(&list, &f, NULL), 10);
    f.statuses[0] = "open";
    ck_assert_int_eq(list_count(&list, &f, NULL), 4); /* 0, 3, 6, 9 */
    f.statuses[0] = NULL;
    f.priorities[0] = "urgent";
    f.priorities[1] = "low";
    ck_assert_int_eq(list_count(&list, &f, NULL), 6); /* 0, 1, 4, 5, 8, 9 */
    f.priorities[0] = NULL;
    f.assigned = 2;
    ck_assert_int_eq(list_count(&list, &f, NULL), 9);
    f.assigned = 1;
    snprintf(f.assigned_to, sizeof(f.assigned_to), "%s", "bbbbbbbbbbbbbbbbbbbbbbbb");
    ck_assert_int_eq(list_count(&list, &f, NULL), 1);
    f.assigned = 0;
    f.q = "A.B (X)"; /* literal, case-insensitive */
    ck_assert_int_eq(list_count(&list, &f, NULL), 1);
    f.q = "a.b.(x)"; /* the dot is no wildcard */
    ck_assert_int_eq(list_count(&list, &f, NULL), 0);
    f.q = NULL;
    f.has_after = f.has_before = 1;
    f.created_after = 10002;  /* inclusive */
    f.created_before = 10005; /* exclusive */
    ck_assert_int_eq(list_count(&list, &f, NULL), 3);
    f.has_after = f.has_before = 0;

    /* priority ascending: low first, urgent last, ties by id */
    snprintf(list.sort_field, sizeof(list.sort_field), "priority");
    list.descending = 0;
    support_case *rows = NULL;
    size_t count = list_count(&list, &f, &rows);
    ck_assert_int_eq(count, 10);
    for (size_t i = 1; i < count; i++) {
        int a = case_priority_rank(rows[i - 1].priority), b = case_priority_rank(rows[i].priority);
        ck_assert(a < b || (a == b && strcmp(rows[i - 1].id, rows[i].id) < 0));
    }
    ck_assert_str_eq(rows[0].priority, "low");
    ck_assert_str_eq(rows[count - 1].priority, "urgent");
    rows_free(rows, count);

    /* keyset walk by priority, 3 per page, sees each case once */
    const char *sorts[] = {"priority", "created_at"};
    for (int s = 0; s < 2; s++) {
        crm_list_params page = {.limit = 3, .descending = s};
        snprintf(page.sort_field, sizeof(page.sort_field), "%s", sorts[s]);
        char seen[10][CASE_ID_LEN];
        size_t total = 0;
        for (int guard = 0; guard < 10; guard++) {
            count = list_count(&page, &f, &rows);
            size_t shown = count > 3 ? 3 : count;
            for (size_t i = 0; i < shown; i++) {
                for (size_t j = 0; j < total; j++)
                    ck_assert_str_ne(seen[j], rows[i].id);
                ck_assert_uint_lt(total, 10);
                snprintf(seen[total++], CASE_ID_LEN, "%s", rows[i].id);
            }
            if (count <= 3) {
                rows_free(rows, count);
                break;
            }
            json_decref(page.after_value);
            page.after_value = s == 0 ? json_integer(case_priority_rank(rows[2].priority))
                                      : json_integer(rows[2].created_at);
            snprintf(page.after_id, sizeof(page.after_id), "%s", rows[2].id);
            rows_free(rows, count);
        }
        json_decref(page.after_value);
        ck_assert_int_eq(total, 10);
    }
}
END_TEST

START_TEST(test_q_ascii_case_only)
{
    char customer[CASE_ID_LEN];
    random_id(customer);
    support_case c;
    case_make(&c, customer, "Caf\xc3\xa9 [1] machine", "normal", "new", 1);
    ck_assert_int_eq(case_store_create(mongo, &c), CRM_STORE_OK);
    support_case_clean(&c);
    crm_list_params list = {.limit = 10, .descending = 1};
    snprintf(list.sort_field, sizeof(list.sort_field), "created_at");
    case_filters f = {0};
    snprintf(f.customer_id, sizeof(f.customer_id), "%s", customer);
    f.q = "CAF\xc3\xa9 [1] MACH";
    ck_assert_int_eq(list_count(&list, &f, NULL), 1);
    f.q = "CAF\xc3\x89"; /* É is not é: only ASCII folds */
    ck_assert_int_eq(list_count(&list, &f, NULL), 0);
    f.q = "[1]"; /* brackets are literals, not a class */
    ck_assert_int_eq(list_count(&list, &f, NULL), 1);
    f.q = "1]";
    ck_assert_int_eq(list_count(&list, &f, NULL), 1);
    f.q = "[2]";
    ck_assert_int_eq(list_count(&list, &f, NULL), 0);
}
END_TEST

typedef struct writer {
    char id[CASE_ID_LEN];
    long long from_version;
    int number;
    crm_store_status status;
} writer;

static void *write_once(void *context)
{
    writer *w = context;
    support_case c = {0};
    if (case_store_find(mongo, w->id, &c) != CRM_STORE_OK) {
        w->status = CRM_STORE_UNAVAILABLE;
        return NULL;
    }
    free(c.title);
    char title[32];
    snprintf(title, sizeof(title), "writer %d", w->number);
    c.title = strdup(title);
    c.version = w->from_version + 1;
    w->status = case_store_update(mongo, &c, w->from_version);
    support_case_clean(&c);
    return NULL;
}

START_TEST(test_exactly_one_winner)
{
    char customer[CASE_ID_LEN];
    random_id(customer);
    support_case c;
    case_make(&c, customer, "contended", "normal", "new", 5000);
    ck_assert_int_eq(case_store_create(mongo, &c), CRM_STORE_OK);
    for (long long round = 1; round <= 5; round++) {
        writer writers[WRITERS];
        pthread_t threads[WRITERS];
        for (int i = 0; i < WRITERS; i++) {
            writers[i] = (writer){.from_version = round, .number = i};
            snprintf(writers[i].id, sizeof(writers[i].id), "%s", c.id);
            pthread_create(&threads[i], NULL, write_once, &writers[i]);
        }
        int winners = 0, winner = -1;
        for (int i = 0; i < WRITERS; i++) {
            pthread_join(threads[i], NULL);
            ck_assert_msg(writers[i].status == CRM_STORE_OK ||
                              writers[i].status == CRM_STORE_CONFLICT,
                          "writer %d: status %d", i, writers[i].status);
            if (writers[i].status == CRM_STORE_OK) {
                winners++;
                winner = i;
            }
        }
        ck_assert_int_eq(winners, 1);
        support_case back = {0};
        ck_assert_int_eq(case_store_find(mongo, c.id, &back), CRM_STORE_OK);
        char title[32];
        snprintf(title, sizeof(title), "writer %d", winner);
        ck_assert_int_eq(back.version, round + 1);
        ck_assert_str_eq(back.title, title);
        support_case_clean(&back);
    }
    /* A stale writer from version 1 loses, and leaves the case alone. */
    support_case stale = {0};
    ck_assert_int_eq(case_store_find(mongo, c.id, &stale), CRM_STORE_OK);
    long long current = stale.version;
    stale.version = 2;
    ck_assert_int_eq(case_store_update(mongo, &stale, 1), CRM_STORE_CONFLICT);
    support_case_clean(&stale);
    ck_assert_int_eq(case_store_find(mongo, c.id, &stale), CRM_STORE_OK);
    ck_assert_int_eq(stale.version, current);
    support_case_clean(&stale);
    support_case_clean(&c);
}
END_TEST

/* A winner that died between its two writes left revision 2 and a case still at 1: the next
 * writer loses, but first finishes the winner's write. */
START_TEST(test_half_done_update_heals)
{
    char customer[CASE_ID_LEN], key[64];
    bson_error_t error;
    random_id(customer);
    support_case c;
    case_make(&c, customer, "before", "normal", "new", 5000);
    ck_assert_int_eq(case_store_create(mongo, &c), CRM_STORE_OK);
    snprintf(key, sizeof(key), "%s:2", c.id);
    bson_t *revision =
        BCON_NEW("_id", BCON_UTF8(key), "case_id", BCON_UTF8(c.id), "version", BCON_INT64(2),
                 "state", "{", "title", BCON_UTF8("healed"), "version", BCON_INT64(2), "}");
    mongoc_client_t *client = crm_mongo_pop(mongo);
    mongoc_collection_t *revisions = crm_mongo_collection(mongo, client, "case_revisions");
    ck_assert(mongoc_collection_insert_one(revisions, revision, NULL, NULL, &error));
    mongoc_collection_destroy(revisions);
    crm_mongo_push(mongo, client);
    bson_destroy(revision);

    support_case late = {0};
    ck_assert_int_eq(case_store_find(mongo, c.id, &late), CRM_STORE_OK);
    ck_assert_int_eq(late.version, 1);
    free(late.title);
    late.title = strdup("late");
    late.version = 2;
    ck_assert_int_eq(case_store_update(mongo, &late, 1), CRM_STORE_CONFLICT);
    support_case_clean(&late);
    ck_assert_int_eq(case_store_find(mongo, c.id, &late), CRM_STORE_OK);
    ck_assert_int_eq(late.version, 2);
    ck_assert_str_eq(late.title, "healed");
    support_case_clean(&late);
    support_case_clean(&c);
}
END_TEST

typedef struct creator {
    const char *customer;
    crm_store_status status;
    char id[CASE_ID_LEN];
} creator;

static void *create_once(void *context)
{
    creator *cr = context;
    support_case c;
    case_make(&c, cr->customer, "racing", "normal", "new", crm_time_now_ms());
    cr->status = case_store_create(mongo, &c);
    snprintf(cr->id, sizeof(cr->id), "%s", c.id);
    support_case_clean(&c);
    return NULL;
}

static char *deleted_event(const char *customer)
{
    char *value = NULL;
    if (asprintf(&value,
                 "{\"id\":\"e-%s\",\"type\":\"customer.deleted\",\"occurred_at\":"
                 "\"2026-11-26T10:00:00.000Z\",\"customer_id\":\"%s\",\"customer\":null}",
                 customer, customer) < 0)
        return NULL;
    return value;
}

static void *cascade_once(void *context)
{
    char *value = deleted_event(context);
    int rc = cases_event_handle(mongo, value, strlen(value), crm_time_now_ms(), NULL);
    free(value);
    return (void *)(long)rc;
}

START_TEST(test_tombstone_race_leaves_no_orphan)
{
    for (int round = 0; round < 3; round++) {
        char customer[CASE_ID_LEN];
        random_id(customer);
        creator creators[CREATORS];
        pthread_t threads[CREATORS], cascade;
        for (int i = 0; i < CREATORS; i++) {
            creators[i] = (creator){.customer = customer};
            pthread_create(&threads[i], NULL, create_once, &creators[i]);
            if (i == CREATORS / 2)
                pthread_create(&cascade, NULL, cascade_once, customer);
        }
        void *rc = NULL;
        for (int i = 0; i < CREATORS; i++) {
            pthread_join(threads[i], NULL);
            ck_assert(creators[i].status == CRM_STORE_OK ||
                      creators[i].status == CRM_STORE_CONFLICT);
        }
        pthread_join(cascade, &rc);
        ck_assert_int_eq((long)rc, 0);
        crm_list_params list = {.limit = 100, .descending = 1};
        snprintf(list.sort_field, sizeof(list.sort_field), "created_at");
        case_filters f = {0};
        snprintf(f.customer_id, sizeof(f.customer_id), "%s", customer);
        ck_assert_int_eq(list_count(&list, &f, NULL), 0);
        /* After the cascade, a creation is refused. */
        creator late = {.customer = customer};
        create_once(&late);
        ck_assert_int_eq(late.status, CRM_STORE_CONFLICT);
        ck_assert_int_eq(list_count(&list, &f, NULL), 0);
    }
}
END_TEST

START_TEST(test_replay_and_malformed_events)
{
    char customer[CASE_ID_LEN], bystander[CASE_ID_LEN];
    random_id(customer);
    random_id(bystander);
    support_case c;
    case_make(&c, customer, "doomed", "normal", "new", 1);
    ck_assert_int_eq(case_store_create(mongo, &c), CRM_STORE_OK);
    support_case_clean(&c);
    case_make(&c, bystander, "kept", "normal", "new", 2);
    ck_assert_int_eq(case_store_create(mongo, &c), CRM_STORE_OK);
    char *value = deleted_event(customer);
    long long occurred = 0;
    ck_assert_int_eq(cases_event_handle(mongo, value, strlen(value), 3, &occurred), 0);
    ck_assert(occurred > 0);
    ck_assert_int_eq(tombstone_store_find(mongo, customer), CRM_STORE_OK);
    ck_assert_int_eq(cases_event_handle(mongo, value, strlen(value), 4, NULL), 0); /* replay */
    free(value);
    support_case back = {0};
    ck_assert_int_eq(case_store_find(mongo, c.id, &back), CRM_STORE_OK);
    support_case_clean(&back);
    ck_assert_int_eq(tombstone_store_find(mongo, bystander), CRM_STORE_NOT_FOUND);
    const char *bad = "{\"type\":\"customer.deleted\"}";
    ck_assert_int_eq(cases_event_handle(mongo, bad, strlen(bad), 5, NULL), 0);
    ck_assert_int_eq(cases_event_handle(mongo, "garbage", 7, 5, NULL), 0);
    support_case_clean(&c);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("cases_store");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_filters_sorts_and_paging);
    tcase_add_test(tc, test_q_ascii_case_only);
    tcase_add_test(tc, test_exactly_one_winner);
    tcase_add_test(tc, test_half_done_update_heals);
    tcase_add_test(tc, test_tombstone_race_leaves_no_orphan);
    tcase_add_test(tc, test_replay_and_malformed_events);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
