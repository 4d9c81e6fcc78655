/* The process's MongoDB pool, following the mongo-c-driver pool example. */
#include "crm/mongo.h"

#include "crm/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct crm_mongo {
    mongoc_client_pool_t *pool;
    char database[64];
};

static pthread_once_t driver_once = PTHREAD_ONCE_INIT;

/* The driver's own log lines become ours, so stderr stays one JSON line per event. */
static void log_from_driver(mongoc_log_level_t level, const char *domain, const char *message,
                            void *context)
{
    (void)context;
    crm_log_level ours = level <= MONGOC_LOG_LEVEL_CRITICAL  ? CRM_LOG_ERROR
                         : level == MONGOC_LOG_LEVEL_WARNING ? CRM_LOG_WARN
                                                             : CRM_LOG_DEBUG;
    /* FerretDB has no endSessions; the driver says so at every shutdown. */
    if (strstr(message, "endSessions"))
        ours = CRM_LOG_DEBUG;
    if (level <= MONGOC_LOG_LEVEL_DEBUG)
        CRM_LOG(ours, "mongoc %s: %s", domain, message);
}

static void driver_init(void)
{
    /* Asks the driver not to keep counters in /dev/shm/mongoc-<pid>, a file a crashed process
     * leaves behind. A driver built to initialise itself before main has already made it. */
    setenv("MONGOC_DISABLE_SHM", "1", 0);
    mongoc_log_set_handler(log_from_driver, NULL);
    mongoc_init();
}

crm_mongo *crm_mongo_new(const char *uri_text, const char *database, const char *app_name,
                         char *err, size_t err_len)
{
    bson_error_t error;
    mongoc_uri_t *uri = NULL;
    crm_mongo *mongo = NULL;

    pthread_once(&driver_once, driver_init);
    uri = mongoc_uri_new_with_error(uri_text, &error);
    if (!uri) {
        snprintf(err, err_len, "CRM_MONGO_URI is not a valid MongoDB URI");
        goto fail;
    }
    mongoc_uri_set_appname(uri, app_name);
    mongo = calloc(1, sizeof(*mongo));
    if (!mongo) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    snprintf(mongo->database, sizeof(mongo->database), "%s", database);
    mongo->pool = mongoc_client_pool_new(uri);
    if (!mongo->pool) {
        snprintf(err, err_len, "cannot create a MongoDB client pool");
        goto fail;
    }
    mongoc_client_pool_set_error_api(mongo->pool, MONGOC_ERROR_API_VERSION_2);
    mongoc_uri_destroy(uri);
    return mongo;
fail:
    crm_mongo_free(mongo);
    mongoc_uri_destroy(uri);
    return NULL;
}

void crm_mongo_free(crm_mongo *mongo)
{
    if (!mongo)
        return;
    if (mongo->pool)
        mongoc_client_pool_destroy(mongo->pool);
    free(mongo);
}

mongoc_client_t *crm_mongo_pop(crm_mongo *mongo)
{
    return mongoc_client_pool_pop(mongo->pool);
}

void crm_mongo_push(crm_mongo *mongo, mongoc_client_t *client)
{
    if (client)
        mongoc_client_pool_push(mongo->pool, client);
}

mongoc_collection_t *crm_mongo_collection(crm_mongo *mongo, mongoc_client_t *client,
                                          const char *name)
{
    return mongoc_client_get_collection(client, mongo->database, name);
}

int crm_mongo_index_ensure(crm_mongo *mongo, const char *collection, const bson_t *keys,
                           const char *name, int unique, bson_error_t *error)
{
    bson_t command = BSON_INITIALIZER, indexes, index;
    bson_append_utf8(&command, "createIndexes", -1, collection, -1);
    bson_append_array_begin(&command, "indexes", -1, &indexes);
    bson_append_document_begin(&indexes, "0", -1, &index);
    bson_append_document(&index, "key", -1, keys);
    bson_append_utf8(&index, "name", -1, name, -1);
    if (unique)
        bson_append_bool(&index, "unique", -1, true);
    bson_append_document_end(&indexes, &index);
    bson_append_array_end(&command, &indexes);

    mongoc_client_t *client = crm_mongo_pop(mongo);
    mongoc_database_t *database = mongoc_client_get_database(client, mongo->database);
    bool ok = mongoc_database_write_command_with_opts(database, &command, NULL, NULL, error);
    mongoc_database_destroy(database);
    crm_mongo_push(mongo, client);
    bson_destroy(&command);
    return ok ? 0 : -1;
}

int crm_mongo_ping(void *context)
{
    crm_mongo *mongo = context;
    bson_error_t error;
    bson_t *command = BCON_NEW("ping", BCON_INT32(1));
    mongoc_client_t *client = crm_mongo_pop(mongo);
    bool ok = mongoc_client_command_simple(client, "admin", command, NULL, NULL, &error);
    crm_mongo_push(mongo, client);
    bson_destroy(command);
    if (!ok)
        CRM_LOG_DEBUG("mongodb ping failed: domain %u code %u", error.domain, error.code);
    return ok ? 1 : 0;
}

crm_mongo_session crm_mongo_session_open(crm_mongo *mongo, const char *collection)
{
    crm_mongo_session session = {mongo, crm_mongo_pop(mongo), NULL};
    session.collection = crm_mongo_collection(mongo, session.client, collection);
    return session;
}

void crm_mongo_session_close(crm_mongo_session *session)
{
    mongoc_collection_destroy(session->collection);
    crm_mongo_push(session->mongo, session->client);
}

crm_store_status crm_store_failure(const bson_error_t *error, const char *what)
{
    if (error->code == 11000)
        return CRM_STORE_DUPLICATE;
    CRM_LOG_WARN("mongodb %s failed: domain %u code %u", what, error->domain, error->code);
    return CRM_STORE_UNAVAILABLE;
}

static void append_sort_value(bson_t *doc, const char *key, const crm_list_params *list,
                              int integers_are_dates)
{
    json_t *value = list->after_value;
    if (json_is_integer(value) && integers_are_dates)
        BSON_APPEND_DATE_TIME(doc, key, json_integer_value(value));
    else if (json_is_integer(value))
        BSON_APPEND_INT64(doc, key, json_integer_value(value));
    else
        BSON_APPEND_UTF8(doc, key, json_string_value(value));
}

static void append_keyset(bson_t *filter, const crm_list_params *list, int integers_are_dates)
{
    const char *op = list->descending ? "$lt" : "$gt";
    bson_oid_t oid;
    bson_t any, beyond, beyond_value, tie, tie_id;
    if (!list->after_value)
        return;
    bson_oid_init_from_string(&oid, list->after_id);
    bson_append_array_begin(filter, "$or", -1, &any);
    bson_append_document_begin(&any, "0", -1, &beyond);
    bson_append_document_begin(&beyond, list->sort_field, -1, &beyond_value);
    append_sort_value(&beyond_value, op, list, integers_are_dates);
    bson_append_document_end(&beyond, &beyond_value);
    bson_append_document_end(&any, &beyond);
    bson_append_document_begin(&any, "1", -1, &tie);
    append_sort_value(&tie, list->sort_field, list, integers_are_dates);
    bson_append_document_begin(&tie, "_id", -1, &tie_id);
    BSON_APPEND_OID(&tie_id, op, &oid);
    bson_append_document_end(&tie, &tie_id);
    bson_append_document_end(&any, &tie);
    bson_append_array_end(filter, &any);
}

void crm_mongo_append_keyset(bson_t *filter, const crm_list_params *list)
{
    append_keyset(filter, list, 1);
}

void crm_mongo_append_keyset_integer(bson_t *filter, const crm_list_params *list)
{
    append_keyset(filter, list, 0);
}

void crm_mongo_append_page(bson_t *opts, const crm_list_params *list)
{
    bson_t sort;
    BSON_APPEND_INT64(opts, "limit", list->limit + 1);
    bson_append_document_begin(opts, "sort", -1, &sort);
    BSON_APPEND_INT32(&sort, list->sort_field, list->descending ? -1 : 1);
    BSON_APPEND_INT32(&sort, "_id", list->descending ? -1 : 1);
    bson_append_document_end(opts, &sort);
}

void crm_mongo_append_in(bson_t *doc, const char *field, const char *const *values)
{
    bson_t condition, in;
    bson_append_document_begin(doc, field, -1, &condition);
    bson_append_array_begin(&condition, "$in", -1, &in);
    for (size_t i = 0; values[i]; i++) {
        char key[24];
        snprintf(key, sizeof(key), "%zu", i);
        BSON_APPEND_UTF8(&in, key, values[i]);
    }
    bson_append_array_end(&condition, &in);
    bson_append_document_end(doc, &condition);
}

char *crm_regex_literal(const char *text)
{
    char *pattern = malloc(strlen(text) * 4 + 1);
    char *out = pattern;
    if (!pattern)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            /* [aA] rather than the i flag, which would fold other scripts too. */
            unsigned char lower = (unsigned char)(c | 0x20);
            *out++ = '[';
            *out++ = (char)lower;
            *out++ = (char)(lower - 32);
            *out++ = ']';
        } else if ((c >= '0' && c <= '9') || c >= 0x80) {
            *out++ = (char)c;
        } else {
            /* In PCRE (MongoDB) and RE2 (FerretDB) alike, a backslash before any ASCII
             * character that is not a letter or digit stands for that character itself. */
            *out++ = '\\';
            *out++ = (char)c;
        }
    }
    *out = '\0';
    return pattern;
}

crm_store_status crm_mongo_find_one(crm_mongo *mongo, const char *collection, const bson_t *filter,
                                    bson_t *out)
{
    bson_error_t error;
    const bson_t *doc = NULL;
    crm_store_status status = CRM_STORE_NOT_FOUND;
    bson_t *opts = BCON_NEW("limit", BCON_INT64(1));
    crm_mongo_session s = crm_mongo_session_open(mongo, collection);
    mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(s.collection, filter, opts, NULL);
    if (mongoc_cursor_next(cursor, &doc)) {
        if (out)
            bson_copy_to(doc, out);
        status = CRM_STORE_OK;
    } else if (mongoc_cursor_error(cursor, &error)) {
        status = crm_store_failure(&error, "find");
    }
    mongoc_cursor_destroy(cursor);
    crm_mongo_session_close(&s);
    bson_destroy(opts);
    return status;
}
