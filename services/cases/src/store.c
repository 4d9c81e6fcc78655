/* The cases service's MongoDB queries. FerretDB has no transactions and its conditional writes
 * (update with a version filter, findAndModify) are not atomic under concurrency, while a unique
 * index is: so concurrent updates are arbitrated by inserting a revision with a unique _id, and
 * every other write is atomic on one document. Statements are built from checked values, never
 * from request text (q is escaped before it reaches $regex). */
#include "store.h"

#include "crm/log.h"
#include "crm/revisions.h"

#include <stdlib.h>
#include <string.h>

#define CASES      "cases"
#define REVISIONS  "case_revisions"
#define TOMBSTONES "deleted_customers"

static int index_ensure(crm_mongo *mongo, const char *collection, const char *name, bson_t *keys,
                        bson_error_t *error)
{
    int rc = crm_mongo_index_ensure(mongo, collection, keys, name, 0, error);
    bson_destroy(keys);
    return rc;
}

crm_store_status cases_store_prepare(crm_mongo *mongo)
{
    bson_error_t error;
    /* One per sort (each with _id, the tie-breaker), and the equality filters that come first
     * in a query followed by the default sort: FerretDB filters non-equality conditions after
     * fetching, so equality + sort is what an index must serve. */
    int ok =
        index_ensure(mongo, CASES, "created_at_id",
                     BCON_NEW("created_at", BCON_INT32(-1), "_id", BCON_INT32(-1)), &error) == 0 &&
        index_ensure(mongo, CASES, "updated_at_id",
                     BCON_NEW("updated_at", BCON_INT32(-1), "_id", BCON_INT32(-1)), &error) == 0 &&
        index_ensure(mongo, CASES, "priority_rank_id",
                     BCON_NEW("priority_rank", BCON_INT32(-1), "_id", BCON_INT32(-1)),
                     &error) == 0 &&
        index_ensure(mongo, CASES, "customer_created",
                     BCON_NEW("customer_id", BCON_INT32(1), "created_at", BCON_INT32(-1), "_id",
                              BCON_INT32(-1)),
                     &error) == 0 &&
        index_ensure(mongo, CASES, "assigned_created",
                     BCON_NEW("assigned_to", BCON_INT32(1), "created_at", BCON_INT32(-1), "_id",
                              BCON_INT32(-1)),
                     &error) == 0 &&
        index_ensure(
            mongo, CASES, "status_created",
            BCON_NEW("status", BCON_INT32(1), "created_at", BCON_INT32(-1), "_id", BCON_INT32(-1)),
            &error) == 0 &&
        index_ensure(mongo, REVISIONS, "case_id", BCON_NEW("case_id", BCON_INT32(1)), &error) ==
            0 &&
        index_ensure(mongo, REVISIONS, "customer_id", BCON_NEW("customer_id", BCON_INT32(1)),
                     &error) == 0;
    return ok ? CRM_STORE_OK : crm_store_failure(&error, "index creation");
}

/* ---- mapping ---- */

static void append_text_or_null(bson_t *doc, const char *key, const char *text)
{
    if (text && text[0])
        BSON_APPEND_UTF8(doc, key, text);
    else
        BSON_APPEND_NULL(doc, key);
}

static void append_time_or_null(bson_t *doc, const char *key, long long milliseconds)
{
    if (milliseconds)
        BSON_APPEND_DATE_TIME(doc, key, milliseconds);
    else
        BSON_APPEND_NULL(doc, key);
}

/* The fields a PATCH may change, plus what follows from them. */
static void case_append_mutable(bson_t *doc, const support_case *c)
{
    BSON_APPEND_UTF8(doc, "title", c->title);
    append_text_or_null(doc, "description", c->description);
    append_text_or_null(doc, "assigned_to", c->assigned_to);
    BSON_APPEND_UTF8(doc, "priority", c->priority);
    BSON_APPEND_INT32(doc, "priority_rank", case_priority_rank(c->priority));
    BSON_APPEND_UTF8(doc, "status", c->status);
    BSON_APPEND_DATE_TIME(doc, "updated_at", c->updated_at);
    append_time_or_null(doc, "resolved_at", c->resolved_at);
    append_time_or_null(doc, "closed_at", c->closed_at);
    BSON_APPEND_INT64(doc, "version", c->version);
}

static void copy_utf8(bson_iter_t *it, char *out, size_t size)
{
    if (BSON_ITER_HOLDS_UTF8(it))
        snprintf(out, size, "%s", bson_iter_utf8(it, NULL));
}

/* Reads the fields of a case document (or of a revision's `state`). */
static void case_from_bson(const bson_t *doc, support_case *c)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, doc))
        return;
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        if (strcmp(key, "_id") == 0 && BSON_ITER_HOLDS_OID(&it))
            bson_oid_to_string(bson_iter_oid(&it), c->id);
        else if (strcmp(key, "customer_id") == 0)
            copy_utf8(&it, c->customer_id, sizeof(c->customer_id));
        else if (strcmp(key, "title") == 0 && BSON_ITER_HOLDS_UTF8(&it)) {
            free(c->title);
            c->title = strdup(bson_iter_utf8(&it, NULL));
        } else if (strcmp(key, "description") == 0) {
            free(c->description);
            c->description = BSON_ITER_HOLDS_UTF8(&it) ? strdup(bson_iter_utf8(&it, NULL)) : NULL;
        } else if (strcmp(key, "assigned_to") == 0) {
            c->assigned_to[0] = '\0';
            copy_utf8(&it, c->assigned_to, sizeof(c->assigned_to));
        } else if (strcmp(key, "priority") == 0)
            copy_utf8(&it, c->priority, sizeof(c->priority));
        else if (strcmp(key, "status") == 0)
            copy_utf8(&it, c->status, sizeof(c->status));
        else if (strcmp(key, "created_by") == 0)
            copy_utf8(&it, c->created_by, sizeof(c->created_by));
        else if (strcmp(key, "created_at") == 0 && BSON_ITER_HOLDS_DATE_TIME(&it))
            c->created_at = bson_iter_date_time(&it);
        else if (strcmp(key, "updated_at") == 0 && BSON_ITER_HOLDS_DATE_TIME(&it))
            c->updated_at = bson_iter_date_time(&it);
        else if (strcmp(key, "resolved_at") == 0)
            c->resolved_at = BSON_ITER_HOLDS_DATE_TIME(&it) ? bson_iter_date_time(&it) : 0;
        else if (strcmp(key, "closed_at") == 0)
            c->closed_at = BSON_ITER_HOLDS_DATE_TIME(&it) ? bson_iter_date_time(&it) : 0;
        else if (strcmp(key, "version") == 0 && BSON_ITER_HOLDS_NUMBER(&it))
            c->version = bson_iter_as_int64(&it);
    }
}

/* ---- cases ---- */

crm_store_status case_store_insert(crm_mongo *mongo, support_case *c)
{
    bson_error_t error;
    bson_oid_t oid;
    bson_oid_init(&oid, NULL);
    bson_oid_to_string(&oid, c->id);
    bson_t *doc =
        BCON_NEW("_id", BCON_OID(&oid), "customer_id", BCON_UTF8(c->customer_id), "created_by",
                 BCON_UTF8(c->created_by), "created_at", BCON_DATE_TIME(c->created_at));
    case_append_mutable(doc, c);
    crm_mongo_session s = crm_mongo_session_open(mongo, CASES);
    bool ok = mongoc_collection_insert_one(s.collection, doc, NULL, NULL, &error);
    crm_mongo_session_close(&s);
    bson_destroy(doc);
    return ok ? CRM_STORE_OK : crm_store_failure(&error, "case insert");
}

crm_store_status case_store_find(crm_mongo *mongo, const char *id, support_case *out)
{
    bson_oid_t oid;
    bson_t doc;
    bson_oid_init_from_string(&oid, id);
    bson_t *filter = BCON_NEW("_id", BCON_OID(&oid));
    crm_store_status status = crm_mongo_find_one(mongo, CASES, filter, &doc);
    if (status == CRM_STORE_OK) {
        memset(out, 0, sizeof(*out));
        case_from_bson(&doc, out);
        bson_destroy(&doc);
    }
    bson_destroy(filter);
    return status;
}

static const crm_revision_target case_revisions = {CASES, REVISIONS, "case_id"};

crm_store_status case_store_update(crm_mongo *mongo, const support_case *c,
                                   long long expected_version)
{
    bson_t state = BSON_INITIALIZER;
    case_append_mutable(&state, c);
    bson_t *extra = BCON_NEW("customer_id", BCON_UTF8(c->customer_id));
    crm_store_status status =
        crm_revision_update(mongo, &case_revisions, c->id, expected_version, &state, extra);
    bson_destroy(extra);
    bson_destroy(&state);
    return status;
}

static crm_store_status delete_many(crm_mongo *mongo, const char *collection, const bson_t *filter,
                                    long long *deleted)
{
    bson_error_t error;
    bson_t reply;
    bson_iter_t it;
    crm_mongo_session s = crm_mongo_session_open(mongo, collection);
    bool ok = mongoc_collection_delete_many(s.collection, filter, NULL, &reply, &error);
    crm_mongo_session_close(&s);
    if (deleted)
        *deleted =
            ok && bson_iter_init_find(&it, &reply, "deletedCount") ? bson_iter_as_int64(&it) : 0;
    bson_destroy(&reply);
    return ok ? CRM_STORE_OK : crm_store_failure(&error, "delete");
}

crm_store_status case_store_delete(crm_mongo *mongo, const char *id, long long expected_version)
{
    bson_oid_t oid;
    long long deleted = 0;
    bson_oid_init_from_string(&oid, id);
    bson_t *filter = BCON_NEW("_id", BCON_OID(&oid));
    if (expected_version > 0)
        BSON_APPEND_INT64(filter, "version", expected_version);
    crm_store_status status = delete_many(mongo, CASES, filter, &deleted);
    bson_destroy(filter);
    if (status != CRM_STORE_OK)
        return status;
    if (deleted == 0) {
        bson_t *exists = BCON_NEW("_id", BCON_OID(&oid));
        status = crm_mongo_find_one(mongo, CASES, exists, NULL);
        bson_destroy(exists);
        return status == CRM_STORE_OK ? CRM_STORE_CONFLICT : status;
    }
    bson_t *revisions = BCON_NEW("case_id", BCON_UTF8(id));
    delete_many(mongo, REVISIONS, revisions, NULL); /* leftovers only cost space */
    bson_destroy(revisions);
    return CRM_STORE_OK;
}

crm_store_status case_store_create(crm_mongo *mongo, support_case *c)
{
    crm_store_status status = case_store_insert(mongo, c);
    if (status != CRM_STORE_OK)
        return status;
    status = tombstone_store_find(mongo, c->customer_id);
    if (status == CRM_STORE_NOT_FOUND)
        return CRM_STORE_OK;
    /* Deleted meanwhile (OK), or we cannot tell (a failure): take the case back either way. */
    crm_store_status undo = case_store_delete(mongo, c->id, 0);
    if (undo != CRM_STORE_OK && undo != CRM_STORE_NOT_FOUND) {
        CRM_LOG_ERROR("case %s of customer %s could not be taken back", c->id, c->customer_id);
        return CRM_STORE_UNAVAILABLE;
    }
    return status == CRM_STORE_OK ? CRM_STORE_CONFLICT : status;
}

/* ---- lists ---- */

int case_store_list_query(bson_t *filter, bson_t *opts, const crm_list_params *list,
                          const case_filters *f)
{
    /* Priority sorts by its stored rank, a plain integer (the others are dates or strings). */
    crm_list_params page = *list;
    if (strcmp(list->sort_field, "priority") == 0)
        snprintf(page.sort_field, sizeof(page.sort_field), "priority_rank");
    if (f->statuses[0])
        crm_mongo_append_in(filter, "status", f->statuses);
    if (f->priorities[0])
        crm_mongo_append_in(filter, "priority", f->priorities);
    if (f->assigned == 1)
        BSON_APPEND_UTF8(filter, "assigned_to", f->assigned_to);
    else if (f->assigned == 2)
        BSON_APPEND_NULL(filter, "assigned_to");
    if (f->customer_id[0])
        BSON_APPEND_UTF8(filter, "customer_id", f->customer_id);
    if (f->has_after || f->has_before) {
        bson_t range;
        bson_append_document_begin(filter, "created_at", -1, &range);
        if (f->has_after)
            BSON_APPEND_DATE_TIME(&range, "$gte", f->created_after);
        if (f->has_before)
            BSON_APPEND_DATE_TIME(&range, "$lt", f->created_before);
        bson_append_document_end(filter, &range);
    }
    if (f->q) {
        char *pattern = crm_regex_literal(f->q);
        if (!pattern)
            return -1;
        BSON_APPEND_REGEX(filter, "title", pattern, "");
        free(pattern);
    }
    if (strcmp(page.sort_field, "priority_rank") == 0)
        crm_mongo_append_keyset_integer(filter, &page);
    else
        crm_mongo_append_keyset(filter, &page);
    crm_mongo_append_page(opts, &page);
    return 0;
}

crm_store_status case_store_list(crm_mongo *mongo, const crm_list_params *list,
                                 const case_filters *filters, support_case **rows, size_t *count)
{
    bson_error_t error;
    const bson_t *doc = NULL;
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER;
    crm_store_status status = CRM_STORE_OK;
    size_t capacity = (size_t)list->limit + 1;

    *count = 0;
    *rows = calloc(capacity, sizeof(**rows));
    if (!*rows || case_store_list_query(&filter, &opts, list, filters) != 0) {
        bson_destroy(&filter);
        bson_destroy(&opts);
        return CRM_STORE_UNAVAILABLE;
    }
    crm_mongo_session s = crm_mongo_session_open(mongo, CASES);
    mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(s.collection, &filter, &opts, NULL);
    while (*count < capacity && mongoc_cursor_next(cursor, &doc))
        case_from_bson(doc, &(*rows)[(*count)++]);
    if (mongoc_cursor_error(cursor, &error))
        status = crm_store_failure(&error, "case list");
    mongoc_cursor_destroy(cursor);
    crm_mongo_session_close(&s);
    bson_destroy(&filter);
    bson_destroy(&opts);
    return status;
}

/* ---- the cascade ---- */

crm_store_status case_store_delete_by_customer(crm_mongo *mongo, const char *customer_id,
                                               long long *deleted)
{
    bson_t *filter = BCON_NEW("customer_id", BCON_UTF8(customer_id));
    crm_store_status status = delete_many(mongo, CASES, filter, deleted);
    if (status == CRM_STORE_OK)
        delete_many(mongo, REVISIONS, filter, NULL); /* leftovers only cost space */
    bson_destroy(filter);
    return status;
}

crm_store_status tombstone_store_insert(crm_mongo *mongo, const char *customer_id,
                                        long long deleted_at)
{
    bson_error_t error;
    bson_t *doc = BCON_NEW("_id", BCON_UTF8(customer_id), "deleted_at", BCON_DATE_TIME(deleted_at));
    crm_mongo_session s = crm_mongo_session_open(mongo, TOMBSTONES);
    bool ok = mongoc_collection_insert_one(s.collection, doc, NULL, NULL, &error);
    crm_mongo_session_close(&s);
    bson_destroy(doc);
    if (ok)
        return CRM_STORE_OK;
    crm_store_status status = crm_store_failure(&error, "tombstone insert");
    return status == CRM_STORE_DUPLICATE ? CRM_STORE_OK : status; /* a replay */
}

crm_store_status tombstone_store_find(crm_mongo *mongo, const char *customer_id)
{
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(customer_id));
    crm_store_status status = crm_mongo_find_one(mongo, TOMBSTONES, filter, NULL);
    bson_destroy(filter);
    return status;
}
