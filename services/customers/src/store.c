/* The customers service's MongoDB queries, shaped by what FerretDB guarantees (NOTES.md, and
 * measured): no transactions, and conditional writes (update with a version in the filter,
 * findAndModify) that are NOT atomic under concurrency, while a unique index (the _id) is. So:
 * - a change is committed by inserting its revision document, whose _id "<id>:<version>" is
 *   unique: of N writers that read version v, exactly one inserts revision v + 1. The revision
 *   holds the full new state and the change's event (the outbox entry), in that one write;
 * - the customer document is then written from the revision (replace where version = v). Only
 *   the arbiter's winner, or a healer copying the same revision, ever writes version v + 1, so
 *   the write needs no atomic compare; a writer that dies in between is healed by the next
 *   writer or by the relay (customer_store_heal, outbox_store_apply);
 * - the relay never writes a customer document a writer might be writing: it marks revisions
 *   published (nobody else writes them after the insert) and removes only tombstones, which no
 *   writer touches. On real MongoDB all of this holds as well; there the conditional replace is
 *   atomic too. */
#include "store.h"

#include "crm/log.h"
#include "crm/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define APPLY_STALE_MS 1000 /* outbox_store_apply leaves fresher revisions to their writer */

crm_store_status customers_store_prepare(crm_mongo *mongo)
{
    bson_error_t error;
    /* Lists always filter deleted: false (equality first), then sort by a field and _id. */
    bson_t *created =
        BCON_NEW("deleted", BCON_INT32(1), "created_at", BCON_INT32(-1), "_id", BCON_INT32(-1));
    bson_t *updated =
        BCON_NEW("deleted", BCON_INT32(1), "updated_at", BCON_INT32(-1), "_id", BCON_INT32(-1));
    bson_t *name = BCON_NEW("deleted", BCON_INT32(1), "name", BCON_INT32(1), "_id", BCON_INT32(1));
    bson_t *status =
        BCON_NEW("status", BCON_INT32(1), "created_at", BCON_INT32(-1), "_id", BCON_INT32(-1));
    bson_t *tags =
        BCON_NEW("tags", BCON_INT32(1), "created_at", BCON_INT32(-1), "_id", BCON_INT32(-1));
    /* The relay's scan: unpublished events, per customer in version order. */
    bson_t *pending = BCON_NEW("published", BCON_INT32(1), "customer_id", BCON_INT32(1), "version",
                               BCON_INT32(1));
    int ok =
        crm_mongo_index_ensure(mongo, CUSTOMERS, created, "deleted_created_at_id", 0, &error) ==
            0 &&
        crm_mongo_index_ensure(mongo, CUSTOMERS, updated, "deleted_updated_at_id", 0, &error) ==
            0 &&
        crm_mongo_index_ensure(mongo, CUSTOMERS, name, "deleted_name_id", 0, &error) == 0 &&
        crm_mongo_index_ensure(mongo, CUSTOMERS, status, "status_created_at_id", 0, &error) == 0 &&
        crm_mongo_index_ensure(mongo, CUSTOMERS, tags, "tags_created_at_id", 0, &error) == 0 &&
        crm_mongo_index_ensure(mongo, CUSTOMER_REVISIONS, pending, "published_customer_version", 0,
                               &error) == 0;
    bson_destroy(created);
    bson_destroy(updated);
    bson_destroy(name);
    bson_destroy(status);
    bson_destroy(tags);
    bson_destroy(pending);
    return ok ? CRM_STORE_OK : crm_store_failure(&error, "index creation");
}

/* ---- BSON mapping ---- */

static void append_text(bson_t *doc, const char *key, const char *value)
{
    if (value)
        BSON_APPEND_UTF8(doc, key, value);
    else
        BSON_APPEND_NULL(doc, key);
}

/* Every field but _id: the customer document's body and a revision's state. */
static void customer_append_state(bson_t *doc, const customer *c)
{
    bson_t contact, tags;
    append_text(doc, "name", c->name);
    bson_append_document_begin(doc, "contact_info", -1, &contact);
    append_text(&contact, "email", c->email);
    append_text(&contact, "phone", c->phone);
    append_text(&contact, "address", c->address);
    bson_append_document_end(doc, &contact);
    BSON_APPEND_UTF8(doc, "status", c->status);
    bson_append_array_begin(doc, "tags", -1, &tags);
    for (size_t i = 0; i < c->tag_count; i++) {
        char key[24];
        snprintf(key, sizeof(key), "%zu", i);
        BSON_APPEND_UTF8(&tags, key, c->tags[i]);
    }
    bson_append_array_end(doc, &tags);
    BSON_APPEND_DATE_TIME(doc, "created_at", c->created_at);
    BSON_APPEND_DATE_TIME(doc, "updated_at", c->updated_at);
    BSON_APPEND_INT64(doc, "version", c->version);
    BSON_APPEND_BOOL(doc, "deleted", c->deleted);
}

static char *iter_text(bson_iter_t *it)
{
    return BSON_ITER_HOLDS_UTF8(it) ? strdup(bson_iter_utf8(it, NULL)) : NULL;
}

static void contact_from_bson(bson_iter_t *it, customer *c)
{
    bson_iter_t child;
    if (!BSON_ITER_HOLDS_DOCUMENT(it) || !bson_iter_recurse(it, &child))
        return;
    while (bson_iter_next(&child)) {
        const char *key = bson_iter_key(&child);
        if (strcmp(key, "email") == 0)
            c->email = iter_text(&child);
        else if (strcmp(key, "phone") == 0)
            c->phone = iter_text(&child);
        else if (strcmp(key, "address") == 0)
            c->address = iter_text(&child);
    }
}

static void tags_from_bson(bson_iter_t *it, customer *c)
{
    bson_iter_t child;
    if (!BSON_ITER_HOLDS_ARRAY(it) || !bson_iter_recurse(it, &child))
        return;
    while (bson_iter_next(&child) && c->tag_count < CUSTOMER_TAGS_MAX) {
        if (BSON_ITER_HOLDS_UTF8(&child))
            c->tags[c->tag_count++] = strdup(bson_iter_utf8(&child, NULL));
    }
}

/* Reads a customer document or a revision's state (which has no _id: c->id stays as set). */
static void customer_from_bson(const bson_t *doc, customer *c)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, doc))
        return;
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        if (strcmp(key, "_id") == 0 && BSON_ITER_HOLDS_OID(&it))
            bson_oid_to_string(bson_iter_oid(&it), c->id);
        else if (strcmp(key, "name") == 0)
            c->name = iter_text(&it);
        else if (strcmp(key, "contact_info") == 0)
            contact_from_bson(&it, c);
        else if (strcmp(key, "status") == 0 && BSON_ITER_HOLDS_UTF8(&it))
            snprintf(c->status, sizeof(c->status), "%s", bson_iter_utf8(&it, NULL));
        else if (strcmp(key, "tags") == 0)
            tags_from_bson(&it, c);
        else if (strcmp(key, "created_at") == 0 && BSON_ITER_HOLDS_DATE_TIME(&it))
            c->created_at = bson_iter_date_time(&it);
        else if (strcmp(key, "updated_at") == 0 && BSON_ITER_HOLDS_DATE_TIME(&it))
            c->updated_at = bson_iter_date_time(&it);
        else if (strcmp(key, "version") == 0 && BSON_ITER_HOLDS_NUMBER(&it))
            c->version = bson_iter_as_int64(&it);
        else if (strcmp(key, "deleted") == 0 && BSON_ITER_HOLDS_BOOL(&it))
            c->deleted = bson_iter_bool(&it);
    }
}

static void revision_id(char *out, size_t len, const char *customer_id, long long version)
{
    snprintf(out, len, "%s:%lld", customer_id, version);
}

/* ---- the two writes of a change ---- */

/* The event's Kafka value (API.md): the resource after the change, or null for deleted. */
static char *event_value(const customer *c, const char *type, const char *event_id,
                         const char *occurred_at)
{
    json_t *resource = strcmp(type, "customer.deleted") == 0 ? json_null() : customer_to_json(c);
    json_t *value =
        json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", event_id, "type", type, "occurred_at",
                  occurred_at, "customer_id", c->id, "customer", resource);
    char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;
    json_decref(value);
    return text;
}

/* The commit point: inserts revision c->version with the new state and its event. Exactly one
 * concurrent inserter of a version succeeds (unique _id); the others get CRM_STORE_CONFLICT. */
static crm_store_status revision_insert(crm_mongo *mongo, const customer *c, const char *type,
                                        const char *request_id)
{
    bson_error_t error;
    char id[48], event_id[CRM_UUID_LEN], occurred_at[CRM_RFC3339_LEN];
    bson_t state, event;
    crm_uuid_v4(event_id);
    crm_time_now(occurred_at);
    char *value = event_value(c, type, event_id, occurred_at);
    if (!value)
        return CRM_STORE_UNAVAILABLE;
    revision_id(id, sizeof(id), c->id, c->version);
    bson_t *doc = BCON_NEW("_id", BCON_UTF8(id), "customer_id", BCON_UTF8(c->id), "version",
                           BCON_INT64(c->version), "published", BCON_BOOL(false), "recorded_at",
                           BCON_DATE_TIME(crm_time_now_ms()));
    bson_append_document_begin(doc, "state", -1, &state);
    customer_append_state(&state, c);
    bson_append_document_end(doc, &state);
    bson_append_document_begin(doc, "event", -1, &event);
    BSON_APPEND_UTF8(&event, "id", event_id);
    BSON_APPEND_UTF8(&event, "type", type);
    BSON_APPEND_UTF8(&event, "request_id", request_id ? request_id : "");
    BSON_APPEND_UTF8(&event, "value", value);
    bson_append_document_end(doc, &event);
    free(value);

    crm_mongo_session s = crm_mongo_session_open(mongo, CUSTOMER_REVISIONS);
    bool ok = mongoc_collection_insert_one(s.collection, doc, NULL, NULL, &error);
    crm_mongo_session_close(&s);
    bson_destroy(doc);
    if (ok)
        return CRM_STORE_OK;
    crm_store_status status = crm_store_failure(&error, "revision insert");
    return status == CRM_STORE_DUPLICATE ? CRM_STORE_CONFLICT : status;
}

/* Writes state `c` into the customer document when that is at version c->version - 1 (or,
 * for version 1, missing). Anything else means someone already wrote it or moved on: no-op.
 * Only the winner of revision c->version and healers copying that same revision call this
 * for a given version, so every such write carries identical content. */
static crm_store_status customer_write(crm_mongo *mongo, const customer *c)
{
    bson_error_t error;
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, c->id);
    bson_t *doc = BCON_NEW("_id", BCON_OID(&oid));
    customer_append_state(doc, c);
    crm_mongo_session s = crm_mongo_session_open(mongo, CUSTOMERS);
    bool ok;
    if (c->version == 1) {
        ok = mongoc_collection_insert_one(s.collection, doc, NULL, NULL, &error);
        if (!ok && error.code == 11000)
            ok = true; /* healed already */
    } else {
        bson_t *filter = BCON_NEW("_id", BCON_OID(&oid), "version", BCON_INT64(c->version - 1));
        ok = mongoc_collection_replace_one(s.collection, filter, doc, NULL, NULL, &error);
        bson_destroy(filter);
    }
    crm_mongo_session_close(&s);
    bson_destroy(doc);
    return ok ? CRM_STORE_OK : crm_store_failure(&error, "customer write");
}

crm_store_status customer_store_insert(crm_mongo *mongo, customer *c, const char *request_id)
{
    bson_oid_t oid;
    bson_oid_init(&oid, NULL);
    bson_oid_to_string(&oid, c->id);
    crm_store_status status = revision_insert(mongo, c, "customer.created", request_id);
    if (status != CRM_STORE_OK)
        return status;
    /* If this fails or the process dies here, the relay writes the document from revision 1
     * before it publishes customer.created. */
    return customer_write(mongo, c);
}

crm_store_status customer_store_update(crm_mongo *mongo, const customer *next,
                                       long long expected_version, const char *request_id)
{
    if (next->version != expected_version + 1)
        return CRM_STORE_CONFLICT;
    crm_store_status status = revision_insert(mongo, next, "customer.updated", request_id);
    return status == CRM_STORE_OK ? customer_write(mongo, next) : status;
}

crm_store_status customer_store_delete(crm_mongo *mongo, const customer *current,
                                       const char *request_id)
{
    customer tombstone;
    customer_copy(&tombstone, current);
    tombstone.version = current->version + 1;
    tombstone.updated_at = crm_time_now_ms();
    tombstone.deleted = 1;
    crm_store_status status = revision_insert(mongo, &tombstone, "customer.deleted", request_id);
    if (status == CRM_STORE_OK)
        status = customer_write(mongo, &tombstone);
    customer_clean(&tombstone);
    return status;
}

/* ---- reads ---- */

crm_store_status customer_store_find(crm_mongo *mongo, const char *id, customer *out)
{
    bson_oid_t oid;
    bson_t doc;
    memset(out, 0, sizeof(*out));
    bson_oid_init_from_string(&oid, id);
    /* By _id alone, and a tombstone is refused here: FerretDB (SQLite) pushes down a filter
     * only when it is exactly {_id: ...}; with "deleted" beside it every read scanned the
     * whole collection. */
    bson_t *filter = BCON_NEW("_id", BCON_OID(&oid));
    crm_store_status status = crm_mongo_find_one(mongo, CUSTOMERS, filter, &doc);
    bson_destroy(filter);
    if (status != CRM_STORE_OK)
        return status;
    customer_from_bson(&doc, out);
    bson_destroy(&doc);
    if (out->deleted) {
        customer_clean(out);
        memset(out, 0, sizeof(*out));
        return CRM_STORE_NOT_FOUND;
    }
    return CRM_STORE_OK;
}

/* Whether revision `version` of customer `id` exists (a store failure counts as yes: the
 * caller then writes nothing). */
static int revision_exists(crm_mongo *mongo, const char *id, long long version)
{
    char rev[48];
    bson_t doc;
    revision_id(rev, sizeof(rev), id, version);
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(rev));
    crm_store_status status = crm_mongo_find_one(mongo, CUSTOMER_REVISIONS, filter, &doc);
    bson_destroy(filter);
    if (status == CRM_STORE_OK)
        bson_destroy(&doc);
    return status != CRM_STORE_NOT_FOUND;
}

/* Writes revision `id` into the customer document (see customer_write). `min_age_ms` > 0
 * leaves a younger revision to its own writer. Revision 1 is never written once revision 2
 * exists: the document was written then, and a missing one was removed (a tombstone), not
 * lost. */
static crm_store_status revision_apply(crm_mongo *mongo, const char *id, long long min_age_ms)
{
    bson_t doc;
    bson_iter_t it, state;
    customer c = {0};
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(id));
    crm_store_status status = crm_mongo_find_one(mongo, CUSTOMER_REVISIONS, filter, &doc);
    bson_destroy(filter);
    if (status != CRM_STORE_OK)
        return status;
    if (min_age_ms > 0 && bson_iter_init_find(&it, &doc, "recorded_at") &&
        BSON_ITER_HOLDS_DATE_TIME(&it) && crm_time_now_ms() - bson_iter_date_time(&it) < min_age_ms)
        goto done;
    if (bson_iter_init_find(&it, &doc, "customer_id") && BSON_ITER_HOLDS_UTF8(&it) &&
        bson_iter_init_find(&state, &doc, "state") && BSON_ITER_HOLDS_DOCUMENT(&state)) {
        uint32_t len;
        const uint8_t *data;
        bson_t state_doc;
        snprintf(c.id, sizeof(c.id), "%s", bson_iter_utf8(&it, NULL));
        bson_iter_document(&state, &len, &data);
        if (bson_init_static(&state_doc, data, len) && crm_id_valid(c.id)) {
            customer_from_bson(&state_doc, &c);
            status = c.version == 1 && revision_exists(mongo, c.id, 2)
                         ? CRM_STORE_OK /* written once already; missing now means removed */
                         : customer_write(mongo, &c);
        }
    }
done:
    customer_clean(&c);
    bson_destroy(&doc);
    return status;
}

crm_store_status customer_store_heal(crm_mongo *mongo, const char *id, long long version)
{
    char rev[48];
    revision_id(rev, sizeof(rev), id, version + 1);
    crm_store_status status = revision_apply(mongo, rev, 0);
    if (status == CRM_STORE_OK)
        /* Usually a concurrent writer between its two writes; rarely one that died there. */
        CRM_LOG_INFO("customer %s: revision %lld was ahead of the document; applied it", id,
                     version + 1);
    return status;
}

/* q: {$and: [{$or: [{name: re}, {contact_info.email: re}]}]}; inside $and because the keyset
 * condition owns the top-level $or. The pattern is escaped (customer_q_pattern). */
static void append_q(bson_t *filter, const char *pattern)
{
    bson_t and, clause, or, name, email;
    bson_append_array_begin(filter, "$and", -1, &and);
    bson_append_document_begin(&and, "0", -1, &clause);
    bson_append_array_begin(&clause, "$or", -1, & or);
    bson_append_document_begin(& or, "0", -1, &name);
    BSON_APPEND_REGEX(&name, "name", pattern, "");
    bson_append_document_end(& or, &name);
    bson_append_document_begin(& or, "1", -1, &email);
    BSON_APPEND_REGEX(&email, "contact_info.email", pattern, "");
    bson_append_document_end(& or, &email);
    bson_append_array_end(&clause, & or);
    bson_append_document_end(&and, &clause);
    bson_append_array_end(filter, &and);
}

void customer_store_list_query(bson_t *filter, bson_t *opts, const crm_list_params *list,
                               const customer_filters *filters)
{
    BSON_APPEND_BOOL(filter, "deleted", false); /* tombstones are invisible */
    if (filters->statuses[0])
        crm_mongo_append_in(filter, "status", filters->statuses);
    if (filters->tag)
        BSON_APPEND_UTF8(filter, "tags", filters->tag);
    if (filters->created_after >= 0 || filters->created_before >= 0) {
        bson_t range;
        bson_append_document_begin(filter, "created_at", -1, &range);
        if (filters->created_after >= 0)
            BSON_APPEND_DATE_TIME(&range, "$gte", filters->created_after);
        if (filters->created_before >= 0)
            BSON_APPEND_DATE_TIME(&range, "$lt", filters->created_before);
        bson_append_document_end(filter, &range);
    }
    if (filters->q_pattern)
        append_q(filter, filters->q_pattern);
    crm_mongo_append_keyset(filter, list);
    crm_mongo_append_page(opts, list);
}

crm_store_status customer_store_list(crm_mongo *mongo, const crm_list_params *list,
                                     const customer_filters *filters, customer **rows,
                                     size_t *count)
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
    customer_store_list_query(&filter, opts, list, filters);

    crm_mongo_session s = crm_mongo_session_open(mongo, CUSTOMERS);
    mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(s.collection, &filter, opts, NULL);
    while (*count < capacity && mongoc_cursor_next(cursor, &doc))
        customer_from_bson(doc, &(*rows)[(*count)++]);
    if (mongoc_cursor_error(cursor, &error))
        status = crm_store_failure(&error, "customer list");
    mongoc_cursor_destroy(cursor);
    crm_mongo_session_close(&s);
    bson_destroy(opts);
    bson_destroy(&filter);
    return status;
}

/* ---- the outbox ---- */

void outbox_event_clean(outbox_event *event)
{
    if (!event)
        return;
    free(event->value);
    event->value = NULL;
}

static void event_from_bson(const bson_t *doc, outbox_event *e)
{
    bson_iter_t it, child;
    memset(e, 0, sizeof(*e));
    if (bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it))
        snprintf(e->revision_id, sizeof(e->revision_id), "%s", bson_iter_utf8(&it, NULL));
    if (bson_iter_init_find(&it, doc, "customer_id") && BSON_ITER_HOLDS_UTF8(&it))
        snprintf(e->customer_id, sizeof(e->customer_id), "%s", bson_iter_utf8(&it, NULL));
    if (bson_iter_init_find(&it, doc, "version") && BSON_ITER_HOLDS_NUMBER(&it))
        e->version = bson_iter_as_int64(&it);
    if (bson_iter_init_find(&it, doc, "recorded_at") && BSON_ITER_HOLDS_DATE_TIME(&it))
        e->recorded_at = bson_iter_date_time(&it);
    if (!bson_iter_init_find(&it, doc, "event") || !bson_iter_recurse(&it, &child))
        return;
    while (bson_iter_next(&child)) {
        const char *key = bson_iter_key(&child);
        if (!BSON_ITER_HOLDS_UTF8(&child))
            continue;
        if (strcmp(key, "type") == 0)
            snprintf(e->type, sizeof(e->type), "%s", bson_iter_utf8(&child, NULL));
        else if (strcmp(key, "request_id") == 0)
            snprintf(e->request_id, sizeof(e->request_id), "%s", bson_iter_utf8(&child, NULL));
        else if (strcmp(key, "value") == 0)
            e->value = strdup(bson_iter_utf8(&child, NULL));
    }
}

crm_store_status outbox_store_pending(crm_mongo *mongo, size_t max, outbox_event **events,
                                      size_t *count)
{
    bson_error_t error;
    const bson_t *doc = NULL;
    crm_store_status status = CRM_STORE_OK;
    *count = 0;
    *events = calloc(max, sizeof(**events));
    if (!*events)
        return CRM_STORE_UNAVAILABLE;
    bson_t *filter = BCON_NEW("published", BCON_BOOL(false));
    bson_t *opts = BCON_NEW("sort", "{", "customer_id", BCON_INT32(1), "version", BCON_INT32(1),
                            "}", "limit", BCON_INT64((int64_t)max));
    crm_mongo_session s = crm_mongo_session_open(mongo, CUSTOMER_REVISIONS);
    mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(s.collection, filter, opts, NULL);
    while (*count < max && mongoc_cursor_next(cursor, &doc)) {
        event_from_bson(doc, &(*events)[*count]);
        if ((*events)[*count].value)
            (*count)++;
    }
    if (mongoc_cursor_error(cursor, &error))
        status = crm_store_failure(&error, "outbox scan");
    mongoc_cursor_destroy(cursor);
    crm_mongo_session_close(&s);
    bson_destroy(opts);
    bson_destroy(filter);
    return status;
}

crm_store_status outbox_store_backlog(crm_mongo *mongo, long long *count)
{
    bson_error_t error;
    bson_t *filter = BCON_NEW("published", BCON_BOOL(false));
    crm_mongo_session s = crm_mongo_session_open(mongo, CUSTOMER_REVISIONS);
    int64_t n = mongoc_collection_count_documents(s.collection, filter, NULL, NULL, NULL, &error);
    crm_mongo_session_close(&s);
    bson_destroy(filter);
    if (n < 0)
        return crm_store_failure(&error, "outbox count");
    *count = n;
    return CRM_STORE_OK;
}

crm_store_status outbox_store_apply(crm_mongo *mongo, const outbox_event *event)
{
    /* A revision younger than that is left to its writer (revision_apply): known from the
     * scan already, without reading the revision again (on FerretDB a read scans them all). */
    if (event->recorded_at > 0 && crm_time_now_ms() - event->recorded_at < APPLY_STALE_MS)
        return CRM_STORE_OK;
    return revision_apply(mongo, event->revision_id, APPLY_STALE_MS);
}

static crm_store_status write_one(crm_mongo *mongo, const char *collection, const bson_t *filter,
                                  const bson_t *update)
{
    bson_error_t error;
    crm_mongo_session s = crm_mongo_session_open(mongo, collection);
    bool ok = update
                  ? mongoc_collection_update_one(s.collection, filter, update, NULL, NULL, &error)
                  : mongoc_collection_delete_one(s.collection, filter, NULL, NULL, &error);
    crm_mongo_session_close(&s);
    return ok ? CRM_STORE_OK : crm_store_failure(&error, "outbox write");
}

crm_store_status outbox_store_mark_published(crm_mongo *mongo, const outbox_event *event)
{
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(event->revision_id));
    bson_t *update = BCON_NEW("$set", "{", "published", BCON_BOOL(true), "published_at",
                              BCON_DATE_TIME(crm_time_now_ms()), "}");
    crm_store_status status = write_one(mongo, CUSTOMER_REVISIONS, filter, update);
    bson_destroy(update);
    bson_destroy(filter);
    return status;
}

crm_store_status outbox_store_prune(crm_mongo *mongo, long long before)
{
    bson_error_t error;
    bson_t *filter = BCON_NEW("published", BCON_BOOL(true), "published_at", "{", "$lt",
                              BCON_DATE_TIME(before), "}");
    crm_mongo_session s = crm_mongo_session_open(mongo, CUSTOMER_REVISIONS);
    bool ok = mongoc_collection_delete_many(s.collection, filter, NULL, NULL, &error);
    crm_mongo_session_close(&s);
    bson_destroy(filter);
    if (!ok)
        return crm_store_failure(&error, "revision prune");
    /* Tombstones whose removal after publication failed. Removing one early is harmless too:
     * the API already treats it as absent, and applying its revision later finds no document
     * at the version before, so writes nothing. */
    filter =
        BCON_NEW("deleted", BCON_BOOL(true), "updated_at", "{", "$lt", BCON_DATE_TIME(before), "}");
    s = crm_mongo_session_open(mongo, CUSTOMERS);
    ok = mongoc_collection_delete_many(s.collection, filter, NULL, NULL, &error);
    crm_mongo_session_close(&s);
    bson_destroy(filter);
    return ok ? CRM_STORE_OK : crm_store_failure(&error, "tombstone prune");
}

crm_store_status outbox_store_remove_tombstone(crm_mongo *mongo, const char *customer_id)
{
    bson_oid_t oid;
    if (!crm_id_valid(customer_id))
        return CRM_STORE_NOT_FOUND;
    bson_oid_init_from_string(&oid, customer_id);
    bson_t *filter = BCON_NEW("_id", BCON_OID(&oid), "deleted", BCON_BOOL(true));
    crm_store_status status = write_one(mongo, CUSTOMERS, filter, NULL);
    bson_destroy(filter);
    return status;
}
