/* The cases service's resource: a support case, the bodies that create and change it, its
 * lifecycle and its JSON form; and the customer events the cascade reads. Pure functions,
 * unit-tested without a server. */
#ifndef CASES_MODEL_H
#define CASES_MODEL_H

#include "crm/json_text.h"
#include "crm/query.h"

#include <jansson.h>
#include <stddef.h>

#define CASE_ID_LEN     25
#define CASE_STATUS_MAX 10
#define CASE_TITLE_MAX  200
#define CASE_DESC_MAX   10000
#define CASE_Q_MAX      200 /* the q filter, in characters */

/* A case as stored. Times are milliseconds since the epoch; 0 means null. */
typedef struct support_case {
    char id[CASE_ID_LEN];
    char customer_id[CASE_ID_LEN];
    char *title;                   /* owned */
    char *description;             /* NULL when unset; owned */
    char assigned_to[CASE_ID_LEN]; /* "" when unassigned */
    char priority[8];              /* low | normal | high | urgent */
    char status[CASE_STATUS_MAX];  /* new | open | pending | on_hold | resolved | closed */
    char created_by[CASE_ID_LEN];
    long long created_at, updated_at, resolved_at, closed_at;
    long long version;
} support_case;

/* A validated PATCH: which writable fields it sets. */
typedef struct case_patch {
    int has_title, has_description, has_assigned_to, has_priority, has_status;
    char *title;                   /* owned */
    char *description;             /* NULL clears; owned */
    char assigned_to[CASE_ID_LEN]; /* "" clears */
    char priority[8];
    char status[CASE_STATUS_MAX];
} case_patch;

extern const char *const case_priorities[]; /* NULL-terminated, low to urgent */
extern const char *const case_statuses[];   /* NULL-terminated */

void support_case_clean(support_case *c);
void case_patch_clean(case_patch *patch);

/* The sort rank of a priority: low 1, normal 2, high 3, urgent 4; 0 for anything else. Stored
 * beside the name so that ascending `priority` sorts low → urgent. */
int case_priority_rank(const char *priority);

/* Whether a case may move from status `from` to `to` (same status: allowed, a no-op). */
int case_transition_allowed(const char *from, const char *to);

/* The statuses `from` may move to, as "a, b, c" into buf (for the 409 detail). */
void case_transition_targets(const char *from, char *buf, size_t len);

/* Moves `c` to `status` at time `now`: resolved_at / closed_at are set on entering resolved /
 * closed and cleared on leaving them. The caller checked case_transition_allowed. */
void case_status_set(support_case *c, const char *status, long long now);

/* Validates a POST /api/cases body; on success fills `c` (customer_id, title, description,
 * assigned_to, priority, status with their defaults, resolved_at/closed_at for a case created
 * resolved or closed, at `now`, version 1). Appends one error per bad field to `errors` and
 * returns how many. */
size_t case_create_read(const json_t *body, long long now, support_case *c, json_t *errors);

/* Validates a PATCH /api/cases/:id body and fills `patch`. Returns the number of errors. */
size_t case_patch_read(const json_t *body, case_patch *patch, json_t *errors);

/* Applies `patch` to `c` at `now` (the status move must have been checked). Returns 1 when
 * something changed, else 0; bumps neither version nor updated_at. */
int case_patch_apply(support_case *c, const case_patch *patch, long long now);

/* The public JSON form, written into `out`: every field, null when unset. */
void case_json_write(crm_json_text *out, const support_case *c);

/* Filters of GET /api/cases (and /api/customers/:id/cases). */
typedef struct case_filters {
    const char *statuses[8];   /* NULL-terminated; empty: any */
    const char *priorities[5]; /* NULL-terminated; empty: any */
    int assigned;              /* 0 any, 1 to `assigned_to`, 2 unassigned */
    char assigned_to[CASE_ID_LEN];
    char customer_id[CASE_ID_LEN]; /* "" any */
    const char *q;                 /* a substring of the title (borrowed from the query), or NULL */
    int has_after, has_before;
    long long created_after, created_before; /* ms; after inclusive, before exclusive */
} case_filters;

/* The query parameters of the two case lists (the nested one has no customer_id) and the
 * sortable fields; NULL-terminated. */
extern const char *const case_list_params[];
extern const char *const case_nested_list_params[];
extern const char *const case_sortable[];

/* Reads status, priority, assigned_to (an id, `me` for `caller_id`, or `none`), customer_id, q,
 * created_after and created_before from `query`. Returns 0, or -1 with a message in `err` (a bad
 * value is an error, never ignored). */
int case_filters_read(const crm_query *query, const char *caller_id, case_filters *f, char *err,
                      size_t err_len);

/* The canonical form of the filters a cursor is bound to (crm_list_params_read digests it): a
 * string the caller frees, or NULL when out of memory. */
char *case_filters_key_new(const crm_query *query, const case_filters *f);

/* A customer event from crm.customers.v1 (API.md). */
typedef struct customer_event {
    char id[64];
    char type[32]; /* customer.created | customer.updated | customer.deleted */
    char customer_id[CASE_ID_LEN];
    long long occurred_at; /* milliseconds */
} customer_event;

/* Parses an event's value. Returns 0, or -1 with a reason in `err` (malformed JSON, a missing
 * or mistyped field, a customer_id that is not an id, an unparsable occurred_at). */
int customer_event_parse(const char *value, size_t len, customer_event *event, char *err,
                         size_t err_len);

#endif
