/* The auth store against a real FerretDB (the integration stack's): refresh-token rotation and
 * reuse detection, conditional user updates, the unique username, the login-failure log. */
#include "crm/util.h"
#include "store.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static crm_mongo *mongo;
static char database[48];

static void setup(void)
{
    char err[256], uuid[CRM_UUID_LEN];
    const char *uri = getenv("CRM_MONGO_URI");
    ck_assert_msg(uri != NULL, "CRM_MONGO_URI is not set");
    crm_uuid_v4(uuid);
    snprintf(database, sizeof(database), "test_auth_%.8s", uuid);
    mongo = crm_mongo_new(uri, database, "test_auth_store", err, sizeof(err));
    ck_assert_msg(mongo != NULL, "%s", err);
    ck_assert_int_eq(auth_store_prepare(mongo), CRM_STORE_OK);
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

static void random_digest(char digest[65])
{
    char a[CRM_UUID_LEN], b[CRM_UUID_LEN];
    crm_uuid_v4(a);
    crm_uuid_v4(b);
    snprintf(digest, 65, "%.32s%.32s", a, b);
}

START_TEST(test_refresh_spend_once_then_reused)
{
    char digest[65];
    refresh_record record;
    random_digest(digest);
    long long now = crm_time_now_ms();
    ck_assert_int_eq(refresh_store_insert(mongo, digest, "u1", "family-1", now + 60000),
                     CRM_STORE_OK);
    ck_assert_int_eq(refresh_store_spend(mongo, digest, now, &record), CRM_STORE_OK);
    ck_assert_str_eq(record.user_id, "u1");
    ck_assert_str_eq(record.family, "family-1");
    memset(&record, 0, sizeof(record));
    ck_assert_int_eq(refresh_store_spend(mongo, digest, now, &record), CRM_STORE_REUSED);
    ck_assert_str_eq(record.family, "family-1");
}
END_TEST

START_TEST(test_refresh_reuse_revokes_family)
{
    char first[65], second[65];
    refresh_record record;
    random_digest(first);
    random_digest(second);
    long long now = crm_time_now_ms();
    refresh_store_insert(mongo, first, "u2", "family-2", now + 60000);
    ck_assert_int_eq(refresh_store_spend(mongo, first, now, &record), CRM_STORE_OK);
    /* the rotation issued `second`; then the spent `first` comes back */
    refresh_store_insert(mongo, second, "u2", "family-2", now + 60000);
    ck_assert_int_eq(refresh_store_spend(mongo, first, now, &record), CRM_STORE_REUSED);
    ck_assert_int_eq(refresh_store_revoke_family(mongo, record.family), CRM_STORE_OK);
    ck_assert_int_eq(refresh_store_spend(mongo, second, now, &record), CRM_STORE_NOT_FOUND);
    ck_assert_int_eq(refresh_store_find(mongo, second, &record), CRM_STORE_NOT_FOUND);
}
END_TEST

START_TEST(test_refresh_expired_and_unknown)
{
    char digest[65], unknown[65];
    refresh_record record;
    random_digest(digest);
    random_digest(unknown);
    long long now = crm_time_now_ms();
    refresh_store_insert(mongo, digest, "u3", "family-3", now - 1);
    ck_assert_int_eq(refresh_store_spend(mongo, digest, now, &record), CRM_STORE_NOT_FOUND);
    ck_assert_int_eq(refresh_store_spend(mongo, unknown, now, &record), CRM_STORE_NOT_FOUND);
}
END_TEST

typedef struct race {
    const char *digest;
    long long now;
    crm_store_status status;
} race;

static void *spend_thread(void *arg)
{
    race *r = arg;
    refresh_record record;
    r->status = refresh_store_spend(mongo, r->digest, r->now, &record);
    return NULL;
}

START_TEST(test_refresh_concurrent_spend_one_wins)
{
    char digest[65];
    enum { RACERS = 6 };
    pthread_t threads[RACERS];
    race races[RACERS];
    random_digest(digest);
    long long now = crm_time_now_ms();
    refresh_store_insert(mongo, digest, "u4", "family-4", now + 60000);
    for (int i = 0; i < RACERS; i++) {
        races[i] = (race){digest, now, CRM_STORE_UNAVAILABLE};
        pthread_create(&threads[i], NULL, spend_thread, &races[i]);
    }
    int winners = 0, reused = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(threads[i], NULL);
        winners += races[i].status == CRM_STORE_OK;
        reused += races[i].status == CRM_STORE_REUSED;
    }
    ck_assert_int_eq(winners, 1);
    ck_assert_int_eq(reused, RACERS - 1);
}
END_TEST

static user new_user(const char *name)
{
    user u = {0};
    snprintf(u.username, sizeof(u.username), "%s", name);
    snprintf(u.role, sizeof(u.role), "agent");
    u.password_hash = strdup("$argon2id$not-a-real-hash");
    u.created_at = u.updated_at = crm_time_now_ms();
    u.version = 1;
    return u;
}

START_TEST(test_user_unique_and_conditional_update)
{
    user u = new_user("carol"), twin = new_user("carol"), found = {0};
    ck_assert_int_eq(user_store_insert(mongo, &u), CRM_STORE_OK);
    ck_assert_int_eq(user_store_insert(mongo, &twin), CRM_STORE_DUPLICATE);
    ck_assert_int_eq(user_store_find_by_username(mongo, "carol", &found), CRM_STORE_OK);
    ck_assert_str_eq(found.id, u.id);
    ck_assert_str_eq(found.password_hash, "$argon2id$not-a-real-hash");

    snprintf(u.role, sizeof(u.role), "viewer");
    u.version = 2;
    ck_assert_int_eq(user_store_update(mongo, &u, 1), CRM_STORE_OK);
    u.version = 3;
    ck_assert_int_eq(user_store_update(mongo, &u, 1), CRM_STORE_CONFLICT); /* stale read */
    user_clean(&found);
    ck_assert_int_eq(user_store_find_by_id(mongo, u.id, &found), CRM_STORE_OK);
    ck_assert_str_eq(found.role, "viewer");
    ck_assert_int_eq(found.version, 2);
    user_clean(&found);
    ck_assert_int_eq(user_store_find_by_id(mongo, "0123456789abcdef01234567", &found),
                     CRM_STORE_NOT_FOUND);
    user_clean(&u);
    user_clean(&twin);
}
END_TEST

typedef struct editor {
    user u;
    crm_store_status status;
} editor;

static void *edit_thread(void *arg)
{
    editor *e = arg;
    e->status = user_store_update(mongo, &e->u, 1);
    return NULL;
}

/* FerretDB lets several conditional updates win; the revision arbiter admits exactly one. */
START_TEST(test_user_concurrent_updates_one_wins)
{
    enum { EDITORS = 8 };
    user u = new_user("erin"), found = {0};
    pthread_t threads[EDITORS];
    editor editors[EDITORS];
    ck_assert_int_eq(user_store_insert(mongo, &u), CRM_STORE_OK);
    for (int i = 0; i < EDITORS; i++) {
        editors[i].u = u;
        editors[i].u.version = 2;
        snprintf(editors[i].u.role, sizeof(editors[i].u.role), "%s", i % 2 ? "viewer" : "admin");
        editors[i].status = CRM_STORE_UNAVAILABLE;
        pthread_create(&threads[i], NULL, edit_thread, &editors[i]);
    }
    int winners = 0, winner = -1;
    for (int i = 0; i < EDITORS; i++) {
        pthread_join(threads[i], NULL);
        if (editors[i].status == CRM_STORE_OK) {
            winners++;
            winner = i;
        } else {
            ck_assert_int_eq(editors[i].status, CRM_STORE_CONFLICT);
        }
    }
    ck_assert_int_eq(winners, 1);
    ck_assert_int_eq(user_store_find_by_id(mongo, u.id, &found), CRM_STORE_OK);
    ck_assert_int_eq(found.version, 2);
    ck_assert_str_eq(found.role, editors[winner].u.role);
    user_clean(&found);
    user_clean(&u);
}
END_TEST

START_TEST(test_login_failures_window)
{
    long long times[8];
    size_t count = 0;
    long long now = crm_time_now_ms();
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(login_failures_record(mongo, "dave", now - 1000 + i, now - 900000),
                         CRM_STORE_OK);
    /* an old failure, outside the window */
    login_failures_record(mongo, "dave", now - 2000000, 0);
    ck_assert_int_eq(login_failures_recent(mongo, "dave", now - 900000, times, 8, &count),
                     CRM_STORE_OK);
    ck_assert_int_eq(count, 3);
    ck_assert(times[0] < times[1] && times[1] < times[2]);
    ck_assert_int_eq(login_failures_clear(mongo, "dave"), CRM_STORE_OK);
    login_failures_recent(mongo, "dave", 0, times, 8, &count);
    ck_assert_int_eq(count, 0);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("auth_store");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_refresh_spend_once_then_reused);
    tcase_add_test(tc, test_refresh_reuse_revokes_family);
    tcase_add_test(tc, test_refresh_expired_and_unknown);
    tcase_add_test(tc, test_refresh_concurrent_spend_one_wins);
    tcase_add_test(tc, test_user_unique_and_conditional_update);
    tcase_add_test(tc, test_user_concurrent_updates_one_wins);
    tcase_add_test(tc, test_login_failures_window);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
