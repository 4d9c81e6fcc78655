/* The auth service's MongoDB queries. Every write is atomic on one document (FerretDB has no
 * transactions); statements are built from checked values, never from request text. */
#include "store.h"

#include "crm/log.h"
#include "crm/revisions.h"

#include <stdlib.h>
#include <string.h>

#define USERS    "users"
#define REFRESH  "refresh_tokens"
#define FAILURES "login_failures"
#define SPENDS   "refresh_spends"

crm_store_status auth_store_prepare(crm_mongo *mongo)
{
    bson_error_t error;
    bson_t *username = BCON_NEW("username", BCON_INT32(1));
    bson_t *family = BCON_NEW("family", BCON_INT32(1));
    bson_t *failures = BCON_NEW("username", BCON_INT32(1), "at", BCON_INT32(1));
    bson_t *created = BCON_NEW("created_at", BCON_INT32(-1), "_id", BCON_INT32(-1));
    int ok = crm_mongo_index_ensure(mongo, USERS, username, "username_unique", 1, &error) == 0 &&
             crm_mongo_index_ensure(mongo, USERS, created, "created_at_id", 0, &error) == 0 &&
             crm_mongo_index_ensure(mongo, REFRESH, family, "family", 0, &error) == 0 &&
             crm_mongo_index_ensure(mongo, FAILURES, failures, "username_at", 0, &error) == 0;
    bson_destroy(username);
    bson_destroy(family);
    bson_destroy(failures);
    bson_destroy(created);
    return ok ? CRM_STORE_OK : crm_store_failure(&error, "index creation");
}

/* ---- users ---- */

static void user_append_fields(bson_t *doc, const user *u)
{
    if (u->email)
        BSON_APPEND_UTF8(doc, "email", u->email);
    else
        BSON_APPEND_NULL(doc, "email");
    BSON_APPEND_UTF8(doc, "role", u->role);
    BSON_APPEND_BOOL(doc, "disabled", u->disabled);
    BSON_APPEND_DATE_TIME(doc, "updated_at", u->updated_at);
    BSON_APPEND_INT64(doc, "version", u->version);
}

static void user_from_bson(const bson_t *doc, user *u)
{
    bson_iter_t it;
    memset(u, 0, sizeof(*u));
    if (!bson_iter_init(&it, doc))
        return;
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        if (strcmp(key, "_id") == 0 && BSON_ITER_HOLDS_OID(&it))
            bson_oid_to_string(bson_iter_oid(&it), u->id);
        else if (strcmp(key, "username") == 0 && BSON_ITER_HOLDS_UTF8(&it))
            snprintf(u->username, sizeof(u->username), "%s", bson_iter_utf8(&it, NULL));
        else if (strcmp(key, "email") == 0 && BSON_ITER_HOLDS_UTF8(&it))
            u->email = strdup(bson_iter_utf8(&it, NULL));
        else if (strcmp(key, "role") == 0 && BSON_ITER_HOLDS_UTF8(&it))
            snprintf(u->role, sizeof(u->role), "%s", bson_iter_utf8(&it, NULL));
        else if (strcmp(key, "disabled") == 0 && BSON_ITER_HOLDS_BOOL(&it))
            u->disabled = bson_iter_bool(&it);
        else if (strcmp(key, "password_hash") == 0 && BSON_ITER_HOLDS_UTF8(&it))
            u->password_hash = strdup(bson_iter_utf8(&it, NULL));
        else if (strcmp(key, "created_at") == 0 && BSON_ITER_HOLDS_DATE_TIME(&it))
            u->created_at = bson_iter_date_time(&it);
        else if (strcmp(key, "updated_at") == 0 && BSON_ITER_HOLDS_DATE_TIME(&it))
            u->updated_at = bson_iter_date_time(&it);
        else if (strcmp(key, "version") == 0 && BSON_ITER_HOLDS_NUMBER(&it))
            u->version = bson_iter_as_int64(&it);
    }
}

crm_store_status user_store_insert(crm_mongo *mongo, user *u)
{
    bson_error_t error;
    bson_oid_t oid;
    bson_oid_init(&oid, NULL);
    bson_oid_to_string(&oid, u->id);
    bson_t *doc =
        BCON_NEW("_id", BCON_OID(&oid), "username", BCON_UTF8(u->username), "password_hash",
                 BCON_UTF8(u->password_hash), "created_at", BCON_DATE_TIME(u->created_at));
    user_append_fields(doc, u);
    crm_mongo_session s = crm_mongo_session_open(mongo, USERS);
    bool ok = mongoc_collection_insert_one(s.collection, doc, NULL, NULL, &error);
    crm_mongo_session_close(&s);
    bson_destroy(doc);
    return ok ? CRM_STORE_OK : crm_store_failure(&error, "user insert");
}

static crm_store_status user_find(crm_mongo *mongo, const bson_t *filter, user *out)
{
    bson_t doc;
    crm_store_status status = crm_mongo_find_one(mongo, USERS, filter, &doc);
    if (status == CRM_STORE_OK) {
        user_from_bson(&doc, out);
        bson_destroy(&doc);
    }
    return status;
}

crm_store_status user_store_find_by_username(crm_mongo *mongo, const char *username, user *out)
{
    bson_t *filter = BCON_NEW("username", BCON_UTF8(username));
    crm_store_status status = user_find(mongo, filter, out);
    bson_destroy(filter);
    return status;
}

crm_store_status user_store_find_by_id(crm_mongo *mongo, const char *id, user *out)
{
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, id);
    bson_t *filter = BCON_NEW("_id", BCON_OID(&oid));
    crm_store_status status = user_find(mongo, filter, out);
    bson_destroy(filter);
    return status;
}

static crm_store_status update_one(crm_mongo *mongo, const char *collection, const bson_t *filter,
                                   const bson_t *update)
{
    bson_error_t error;
    bson_t reply;
    crm_mongo_session s = crm_mongo_session_open(mongo, collection);
    bool ok = mongoc_collection_update_one(s.collection, filter, update, NULL, &reply, &error);
    crm_store_status status = CRM_STORE_OK;
    if (!ok) {
        status = crm_store_failure(&error, "update");
    } else {
        bson_iter_t it;
        if (bson_iter_init_find(&it, &reply, "matchedCount") && bson_iter_as_int64(&it) == 0)
            status = CRM_STORE_NOT_FOUND;
    }
    bson_destroy(&reply);
    crm_mongo_session_close(&s);
    return status;
}

static const crm_revision_target user_revisions = {USERS, "user_revisions", "user_id"};

crm_store_status user_store_update(crm_mongo *mongo, const user *u, long long expected_version)
{
    bson_t fields = BSON_INITIALIZER;
    user_append_fields(&fields, u);
    crm_store_status status =
        crm_revision_update(mongo, &user_revisions, u->id, expected_version, &fields, NULL);
    bson_destroy(&fields);
    return status == CRM_STORE_NOT_FOUND ? CRM_STORE_CONFLICT : status;
}

crm_store_status user_store_set_password_hash(crm_mongo *mongo, const char *id, const char *hash)
{
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, id);
    bson_t *filter = BCON_NEW("_id", BCON_OID(&oid));
    bson_t *update = BCON_NEW("$set", "{", "password_hash", BCON_UTF8(hash), "}");
    crm_store_status status = update_one(mongo, USERS, filter, update);
    bson_destroy(update);
    bson_destroy(filter);
    return status;
}

void user_store_list_query(bson_t *filter, bson_t *opts, const crm_list_params *list,
                           const user_filters *filters)
{
    if (filters->roles[0])
        crm_mongo_append_in(filter, "role", filters->roles);
    if (filters->disabled >= 0)
        BSON_APPEND_BOOL(filter, "disabled", filters->disabled);
    crm_mongo_append_keyset(filter, list);
    crm_mongo_append_page(opts, list);
}

crm_store_status user_store_list(crm_mongo *mongo, const crm_list_params *list,
                                 const user_filters *filters, user **rows, size_t *count)
{
    bson_error_t error;
    const bson_t *doc = NULL;
    bson_t filter = BSON_INITIALIZER;
    crm_store_status status = CRM_STORE_OK;
    size_t capacity = (size_t)list->limit + 1;

    *rows = calloc(capacity, sizeof(**rows));
    *count = 0;
    if (!*rows)
        return CRM_STORE_UNAVAILABLE;
    bson_t *opts = bson_new();
    user_store_list_query(&filter, opts, list, filters);

    crm_mongo_session s = crm_mongo_session_open(mongo, USERS);
    mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(s.collection, &filter, opts, NULL);
    while (*count < capacity && mongoc_cursor_next(cursor, &doc))
        user_from_bson(doc, &(*rows)[(*count)++]);
    if (mongoc_cursor_error(cursor, &error))
        status = crm_store_failure(&error, "user list");
    mongoc_cursor_destroy(cursor);
    crm_mongo_session_close(&s);
    bson_destroy(opts);
    bson_destroy(&filter);
    return status;
}

/* ---- refresh tokens ---- */

crm_store_status refresh_store_insert(crm_mongo *mongo, const char *digest, const char *user_id,
                                      const char *family, long long expires_at)
{
    bson_error_t error;
    bson_t *doc = BCON_NEW("_id", BCON_UTF8(digest), "user_id", BCON_UTF8(user_id), "family",
                           BCON_UTF8(family), "expires_at", BCON_DATE_TIME(expires_at), "revoked",
                           BCON_BOOL(false));
    crm_mongo_session s = crm_mongo_session_open(mongo, REFRESH);
    bool ok = mongoc_collection_insert_one(s.collection, doc, NULL, NULL, &error);
    crm_mongo_session_close(&s);
    bson_destroy(doc);
    return ok ? CRM_STORE_OK : crm_store_failure(&error, "refresh insert");
}

/* Reads a token's record; CRM_STORE_NOT_FOUND when unknown, revoked or (with `now` > 0) expired. */
static crm_store_status refresh_read(crm_mongo *mongo, const char *digest, long long now,
                                     refresh_record *out)
{
    bson_error_t error;
    bson_iter_t it;
    const bson_t *doc = NULL;
    crm_store_status status = CRM_STORE_NOT_FOUND;
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(digest));
    crm_mongo_session s = crm_mongo_session_open(mongo, REFRESH);
    mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(s.collection, filter, NULL, NULL);
    memset(out, 0, sizeof(*out));
    if (mongoc_cursor_next(cursor, &doc)) {
        if (bson_iter_init_find(&it, doc, "user_id") && BSON_ITER_HOLDS_UTF8(&it))
            snprintf(out->user_id, sizeof(out->user_id), "%s", bson_iter_utf8(&it, NULL));
        if (bson_iter_init_find(&it, doc, "family") && BSON_ITER_HOLDS_UTF8(&it))
            snprintf(out->family, sizeof(out->family), "%s", bson_iter_utf8(&it, NULL));
        int revoked = bson_iter_init_find(&it, doc, "revoked") && bson_iter_as_bool(&it);
        int expired = now > 0 && bson_iter_init_find(&it, doc, "expires_at") &&
                      BSON_ITER_HOLDS_DATE_TIME(&it) && bson_iter_date_time(&it) <= now;
        status = revoked || expired ? CRM_STORE_NOT_FOUND : CRM_STORE_OK;
    } else if (mongoc_cursor_error(cursor, &error)) {
        status = crm_store_failure(&error, "refresh find");
    }
    mongoc_cursor_destroy(cursor);
    crm_mongo_session_close(&s);
    bson_destroy(filter);
    return status;
}

/* Spending is an insert keyed by the token's digest: the unique _id lets exactly one of any
 * number of concurrent refreshes win, on FerretDB (whose findAndModify is not atomic under
 * concurrency: two winners were seen) as on MongoDB. */
static crm_store_status spend_mark(crm_mongo *mongo, const char *digest, const char *family)
{
    bson_error_t error;
    bson_t *doc = BCON_NEW("_id", BCON_UTF8(digest), "family", BCON_UTF8(family));
    crm_mongo_session s = crm_mongo_session_open(mongo, SPENDS);
    bool ok = mongoc_collection_insert_one(s.collection, doc, NULL, NULL, &error);
    crm_mongo_session_close(&s);
    bson_destroy(doc);
    if (ok)
        return CRM_STORE_OK;
    crm_store_status status = crm_store_failure(&error, "refresh spend");
    return status == CRM_STORE_DUPLICATE ? CRM_STORE_REUSED : status;
}

static crm_store_status spent_check(crm_mongo *mongo, const char *digest)
{
    bson_error_t error;
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(digest));
    crm_mongo_session s = crm_mongo_session_open(mongo, SPENDS);
    int64_t count =
        mongoc_collection_count_documents(s.collection, filter, NULL, NULL, NULL, &error);
    crm_mongo_session_close(&s);
    bson_destroy(filter);
    if (count < 0)
        return crm_store_failure(&error, "refresh spent check");
    return count > 0 ? CRM_STORE_REUSED : CRM_STORE_OK;
}

crm_store_status refresh_store_find(crm_mongo *mongo, const char *digest, refresh_record *out)
{
    crm_store_status status = refresh_read(mongo, digest, 0, out);
    return status == CRM_STORE_OK ? spent_check(mongo, digest) : status;
}

crm_store_status refresh_store_spend(crm_mongo *mongo, const char *digest, long long now,
                                     refresh_record *out)
{
    crm_store_status status = refresh_read(mongo, digest, now, out);
    return status == CRM_STORE_OK ? spend_mark(mongo, digest, out->family) : status;
}

crm_store_status refresh_store_revoke_family(crm_mongo *mongo, const char *family)
{
    bson_error_t error;
    bson_t *filter = BCON_NEW("family", BCON_UTF8(family));
    bson_t *update = BCON_NEW("$set", "{", "revoked", BCON_BOOL(true), "}");
    crm_mongo_session s = crm_mongo_session_open(mongo, REFRESH);
    bool ok = mongoc_collection_update_many(s.collection, filter, update, NULL, NULL, &error);
    crm_mongo_session_close(&s);
    bson_destroy(update);
    bson_destroy(filter);
    return ok ? CRM_STORE_OK : crm_store_failure(&error, "refresh revoke");
}

/* ---- login failures ---- */

crm_store_status login_failures_recent(crm_mongo *mongo, const char *username, long long since,
                                       long long *times, size_t max, size_t *count)
{
    bson_error_t error;
    const bson_t *doc = NULL;
    crm_store_status status = CRM_STORE_OK;
    bson_t *filter =
        BCON_NEW("username", BCON_UTF8(username), "at", "{", "$gte", BCON_DATE_TIME(since), "}");
    bson_t *opts = BCON_NEW("sort", "{", "at", BCON_INT32(1), "}", "limit", BCON_INT64(max));
    crm_mongo_session s = crm_mongo_session_open(mongo, FAILURES);
    mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(s.collection, filter, opts, NULL);
    *count = 0;
    while (*count < max && mongoc_cursor_next(cursor, &doc)) {
        bson_iter_t it;
        if (bson_iter_init_find(&it, doc, "at") && BSON_ITER_HOLDS_DATE_TIME(&it))
            times[(*count)++] = bson_iter_date_time(&it);
    }
    if (mongoc_cursor_error(cursor, &error))
        status = crm_store_failure(&error, "login failures");
    mongoc_cursor_destroy(cursor);
    crm_mongo_session_close(&s);
    bson_destroy(opts);
    bson_destroy(filter);
    return status;
}

crm_store_status login_failures_record(crm_mongo *mongo, const char *username, long long now,
                                       long long forget_before)
{
    bson_error_t error;
    bson_t *doc = BCON_NEW("username", BCON_UTF8(username), "at", BCON_DATE_TIME(now));
    bson_t *old = BCON_NEW("username", BCON_UTF8(username), "at", "{", "$lt",
                           BCON_DATE_TIME(forget_before), "}");
    crm_mongo_session s = crm_mongo_session_open(mongo, FAILURES);
    bool ok = mongoc_collection_insert_one(s.collection, doc, NULL, NULL, &error) &&
              mongoc_collection_delete_many(s.collection, old, NULL, NULL, &error);
    crm_mongo_session_close(&s);
    bson_destroy(old);
    bson_destroy(doc);
    return ok ? CRM_STORE_OK : crm_store_failure(&error, "login failure record");
}

crm_store_status login_failures_clear(crm_mongo *mongo, const char *username)
{
    bson_error_t error;
    bson_t *filter = BCON_NEW("username", BCON_UTF8(username));
    crm_mongo_session s = crm_mongo_session_open(mongo, FAILURES);
    bool ok = mongoc_collection_delete_many(s.collection, filter, NULL, NULL, &error);
    crm_mongo_session_close(&s);
    bson_destroy(filter);
    return ok ? CRM_STORE_OK : crm_store_failure(&error, "login failure clear");
}
