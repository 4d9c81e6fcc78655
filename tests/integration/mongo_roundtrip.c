/* MongoDB round trip against the test stack's FerretDB through crm_mongo: insert, find, and a
 * unique index that answers a duplicate with error 11000, as the services will rely on. */
#include "check.h"
#include "crm/mongo.h"
#include "crm/util.h"

#include <string.h>

int main(void)
{
    char err[256], database[64], uuid[CRM_UUID_LEN];
    bson_error_t error;
    const char *uri = getenv("CRM_MONGO_URI");
    CHECK(uri, "CRM_MONGO_URI is not set");

    crm_uuid_v4(uuid);
    snprintf(database, sizeof(database), "itest_%.8s", uuid);
    crm_mongo *mongo = crm_mongo_new(uri, database, "itest", err, sizeof(err));
    CHECK(mongo, "crm_mongo_new: %s", err);
    CHECK(crm_mongo_ping(mongo), "ping failed");

    mongoc_client_t *client = crm_mongo_pop(mongo);
    mongoc_collection_t *things = crm_mongo_collection(mongo, client, "things");

    bson_oid_t id;
    bson_oid_init(&id, NULL);
    bson_t *doc = BCON_NEW("_id", BCON_OID(&id), "name", BCON_UTF8("ada"), "n", BCON_INT32(7));
    CHECK(mongoc_collection_insert_one(things, doc, NULL, NULL, &error), "insert: %s",
          error.message);

    bson_t *filter = BCON_NEW("_id", BCON_OID(&id));
    mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(things, filter, NULL, NULL);
    const bson_t *found = NULL;
    CHECK(mongoc_cursor_next(cursor, &found), "the inserted document was not found");
    bson_iter_t it;
    CHECK(bson_iter_init_find(&it, found, "name") && strcmp(bson_iter_utf8(&it, NULL), "ada") == 0,
          "name differs");
    CHECK(bson_iter_init_find(&it, found, "n") && bson_iter_int32(&it) == 7, "n differs");
    CHECK(!mongoc_cursor_next(cursor, &found), "more than one document");
    CHECK(!mongoc_cursor_error(cursor, &error), "cursor: %s", error.message);
    mongoc_cursor_destroy(cursor);
    printf("ok: insert and find\n");

    bson_t *keys = BCON_NEW("name", BCON_INT32(1));
    CHECK(crm_mongo_index_ensure(mongo, "things", keys, "name_unique", 1, &error) == 0,
          "create index: %s", error.message);
    CHECK(crm_mongo_index_ensure(mongo, "things", keys, "name_unique", 1, &error) == 0,
          "creating an existing index again: %s", error.message);

    bson_t *twin = BCON_NEW("name", BCON_UTF8("ada"));
    CHECK(!mongoc_collection_insert_one(things, twin, NULL, NULL, &error),
          "a duplicate name was accepted");
    CHECK(error.code == 11000, "duplicate answered code %u (%s), not 11000", error.code,
          error.message);
    printf("ok: unique index answers 11000\n");

    mongoc_database_t *db = mongoc_client_get_database(client, database);
    CHECK(mongoc_database_drop(db, &error), "drop: %s", error.message);
    mongoc_database_destroy(db);

    bson_destroy(twin);
    bson_destroy(keys);
    bson_destroy(filter);
    bson_destroy(doc);
    mongoc_collection_destroy(things);
    crm_mongo_push(mongo, client);
    crm_mongo_free(mongo);
    return 0;
}
