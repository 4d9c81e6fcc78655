/* The revision arbiter of revisions.h. */
#include "crm/revisions.h"

#include <stdio.h>

/* Sets the document to `state` if it is still at `from_version`. OK whether or not it matched
 * (someone else may have written the same revision), NOT_FOUND when the document is gone. */
static crm_store_status document_write(crm_mongo *mongo, const crm_revision_target *target,
                                       const char *id, const bson_t *state, long long from_version)
{
    bson_error_t error;
    bson_t reply;
    bson_iter_t it;
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, id);
    bson_t *filter = BCON_NEW("_id", BCON_OID(&oid), "version", BCON_INT64(from_version));
    bson_t *update = BCON_NEW("$set", BCON_DOCUMENT(state));
    crm_mongo_session s = crm_mongo_session_open(mongo, target->collection);
    bool ok = mongoc_collection_update_one(s.collection, filter, update, NULL, &reply, &error);
    crm_mongo_session_close(&s);
    crm_store_status status = ok ? CRM_STORE_OK : crm_store_failure(&error, "update");
    int matched =
        ok && bson_iter_init_find(&it, &reply, "matchedCount") && bson_iter_as_int64(&it) > 0;
    bson_destroy(&reply);
    bson_destroy(update);
    bson_destroy(filter);
    if (status == CRM_STORE_OK && !matched) {
        bson_t *exists = BCON_NEW("_id", BCON_OID(&oid));
        status = crm_mongo_find_one(mongo, target->collection, exists, NULL);
        bson_destroy(exists);
    }
    return status;
}

/* Finishes the write of revision `version` if the document still lags behind it. */
static crm_store_status revision_heal(crm_mongo *mongo, const crm_revision_target *target,
                                      const char *id, long long version)
{
    char key[64];
    bson_t doc;
    bson_iter_t it;
    snprintf(key, sizeof(key), "%s:%lld", id, version);
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(key));
    crm_store_status status = crm_mongo_find_one(mongo, target->revisions, filter, &doc);
    bson_destroy(filter);
    if (status != CRM_STORE_OK)
        return status == CRM_STORE_NOT_FOUND ? CRM_STORE_OK : status;
    if (bson_iter_init_find(&it, &doc, "state") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
        uint32_t len = 0;
        const uint8_t *data = NULL;
        bson_t state;
        bson_iter_document(&it, &len, &data);
        if (bson_init_static(&state, data, len))
            status = document_write(mongo, target, id, &state, version - 1);
    }
    bson_destroy(&doc);
    return status;
}

crm_store_status crm_revision_update(crm_mongo *mongo, const crm_revision_target *target,
                                     const char *id, long long expected_version,
                                     const bson_t *state, const bson_t *extra)
{
    bson_error_t error;
    long long new_version = expected_version + 1;
    char key[64];
    snprintf(key, sizeof(key), "%s:%lld", id, new_version);
    bson_t *revision = BCON_NEW("_id", BCON_UTF8(key), target->owner_field, BCON_UTF8(id),
                                "version", BCON_INT64(new_version), "state", BCON_DOCUMENT(state));
    if (extra)
        bson_concat(revision, extra);
    crm_mongo_session s = crm_mongo_session_open(mongo, target->revisions);
    bool inserted = mongoc_collection_insert_one(s.collection, revision, NULL, NULL, &error);
    crm_mongo_session_close(&s);
    bson_destroy(revision);
    if (inserted)
        return document_write(mongo, target, id, state, expected_version);
    crm_store_status status = crm_store_failure(&error, "revision insert");
    if (status != CRM_STORE_DUPLICATE)
        return status;
    status = revision_heal(mongo, target, id, new_version);
    return status == CRM_STORE_OK ? CRM_STORE_CONFLICT : status;
}
