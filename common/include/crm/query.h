/* Query strings and list parameters: strict parsing (an unknown, repeated or malformed
 * parameter is an error, never ignored), limit and sort, and opaque keyset cursors bound to the
 * sort and filters they were made with. */
#ifndef CRM_QUERY_H
#define CRM_QUERY_H

#include <jansson.h>
#include <stddef.h>

#define CRM_QUERY_MAX_PARAMS 16

typedef struct crm_query_param {
    char *name;  /* percent-decoded, owned */
    char *value; /* percent-decoded, owned */
} crm_query_param;

typedef struct crm_query {
    crm_query_param params[CRM_QUERY_MAX_PARAMS];
    size_t count;
} crm_query;

/* Parses the query part of `url` (everything after the first '?', if any). Every name must be
 * in the NULL-terminated `allowed` list and appear once; %XX escapes must be valid and decode to
 * valid UTF-8 without NUL. Returns 0, or -1 with a message in `err`. Release with
 * crm_query_clean (also after a failure). */
int crm_query_parse(crm_query *query, const char *url, const char *const *allowed, char *err,
                    size_t err_len);
void crm_query_clean(crm_query *query);

/* The value of `name`, or NULL when absent. */
const char *crm_query_get(const crm_query *query, const char *name);

/* The list parameters every list endpoint shares. */
typedef struct crm_list_params {
    long limit;           /* 1..100, default 20 */
    char sort_field[32];  /* one of the endpoint's sortable fields */
    int descending;       /* '-' prefix; the default sort is -created_at */
    json_t *after_value;  /* from the cursor: the last row's sort value, or NULL */
    char after_id[25];    /* from the cursor: the last row's id ("" without a cursor) */
    char filters_key[65]; /* a digest of the filters, which the cursor must match */
} crm_list_params;

/* Reads limit, sort (one of the NULL-terminated `sortable`) and cursor from `query`.
 * `filters_key` identifies the filters (a canonical string of the filter parameters; the caller
 * builds it). Returns 0, or -1 with a message in `err`. Release with crm_list_params_clean. */
int crm_list_params_read(crm_list_params *list, const crm_query *query, const char *const *sortable,
                         const char *filters_key, char *err, size_t err_len);
void crm_list_params_clean(crm_list_params *list);

/* The cursor that continues after a row whose sort value is `value` (borrowed) and id is `id`,
 * or NULL when out of memory. The caller frees it with free(). */
char *crm_cursor_encode(const crm_list_params *list, const json_t *value, const char *id);

/* Whether `text` is an id: 24 lowercase hexadecimal digits (a MongoDB ObjectId). */
int crm_id_valid(const char *text);

/* Parses an RFC 3339 time ("2026-11-26T10:00:00Z", "…00.123+01:00") into milliseconds since
 * the epoch. Returns 0 or -1. */
int crm_time_parse(const char *text, long long *milliseconds);

#endif
