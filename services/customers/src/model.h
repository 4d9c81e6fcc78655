/* The customers service's resource: a customer and the bodies that create and change it, the
 * list filters and the escaping of `q`. Pure functions, unit-tested without a server. */
#ifndef CUSTOMERS_MODEL_H
#define CUSTOMERS_MODEL_H

#include "crm/json_text.h"
#include "crm/query.h"

#include <jansson.h>
#include <stddef.h>

#define CUSTOMER_TAGS_MAX   20
#define CUSTOMER_STATUS_MAX 16
#define CUSTOMER_Q_MAX      200
/* Room for customer_filters_read's key: at most 1068 bytes (every status, a 40-character tag and
 * a 200-character q of four-byte characters) and its NUL. */
#define CUSTOMER_FILTERS_KEY_MAX 1200

/* A customer as stored. Strings are owned; NULL means unset (rendered as null). */
typedef struct customer {
    char id[25];
    char *name;
    char *email, *phone, *address; /* contact_info's fields */
    char status[CUSTOMER_STATUS_MAX];
    char *tags[CUSTOMER_TAGS_MAX];
    size_t tag_count;
    long long created_at, updated_at; /* milliseconds since the epoch */
    long long version;
    int deleted; /* a tombstone: invisible to the API until the relay removes it */
} customer;

/* A validated PATCH (a JSON merge patch of the writable fields). */
typedef struct customer_patch {
    int has_name, has_status, has_tags;
    int has_email, has_phone, has_address; /* contact_info: null sets all three */
    char *name, *email, *phone, *address;  /* owned; NULL clears */
    char status[CUSTOMER_STATUS_MAX];
    char *tags[CUSTOMER_TAGS_MAX];
    size_t tag_count;
} customer_patch;

extern const char *const customer_statuses[]; /* NULL-terminated */

void customer_clean(customer *c);
void customer_patch_clean(customer_patch *patch);

/* Deep copy of `from` into `to` (which it overwrites without cleaning). Returns 0 or -1. */
int customer_copy(customer *to, const customer *from);

/* Validates a POST body and fills `out` with it and the defaults (status lead, no tags, unset
 * contact fields); id, times and version are left to the caller. Returns the number of errors
 * appended to `errors` (0: `out` is filled; else `out` is clean). */
size_t customer_create_read(const json_t *body, customer *out, json_t *errors);

/* Validates a PATCH body and fills `patch`. Returns the number of errors. */
size_t customer_patch_read(const json_t *body, customer_patch *patch, json_t *errors);

/* Applies `patch` to `c` in place. Returns 1 when something changed, else 0. */
int customer_patch_apply(customer *c, const customer_patch *patch);

/* The public JSON form: every field present, null for unset. A new reference, or NULL. */
json_t *customer_to_json(const customer *c);

/* The same JSON, byte for byte, written straight into `out` (the answers of reads and lists,
 * without a jansson tree; customer_to_json stays for the events). */
void customer_json_write(crm_json_text *out, const customer *c);

/* Filters of GET /api/customers, read from a parsed query string. */
typedef struct customer_filters {
    const char *statuses[6];  /* NULL-terminated, borrowed from customer_statuses; empty: any */
    const char *tag;          /* borrowed from the query; NULL: any */
    char *q_pattern;          /* q as crm_regex_literal made it; owned; NULL: none */
    long long created_after;  /* inclusive, ms; -1: none */
    long long created_before; /* exclusive, ms; -1: none */
} customer_filters;

/* The query parameters of GET /api/customers and its sortable fields; NULL-terminated. */
extern const char *const customer_list_params[];
extern const char *const customer_sortable[];

/* Reads status, tag, q, created_after and created_before from `query`. Returns 0, or -1 with a
 * message in `err` (a bad value is an error, never ignored). Release with
 * customer_filters_clean (also after a failure). `key` (CUSTOMER_FILTERS_KEY_MAX bytes) receives a
 * canonical form of the filters that a cursor is bound to. */
int customer_filters_read(const crm_query *query, customer_filters *filters, char *key,
                          size_t key_len, char *err, size_t err_len);
void customer_filters_clean(customer_filters *filters);

#endif
