/* Cases: validation tables, defaults, the lifecycle and the JSON form; customer events. */
#include "model.h"

#include "crm/problem.h"
#include "crm/query.h"
#include "crm/util.h"
#include "crm/validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const case_priorities[] = {"low", "normal", "high", "urgent", NULL};
const char *const case_statuses[] = {"new",      "open",   "pending", "on_hold",
                                     "resolved", "closed", NULL};

void support_case_clean(support_case *c)
{
    if (!c)
        return;
    free(c->title);
    free(c->description);
    c->title = NULL;
    c->description = NULL;
}

void case_patch_clean(case_patch *patch)
{
    if (!patch)
        return;
    free(patch->title);
    free(patch->description);
    patch->title = NULL;
    patch->description = NULL;
}

int case_priority_rank(const char *priority)
{
    for (int i = 0; case_priorities[i]; i++) {
        if (strcmp(priority, case_priorities[i]) == 0)
            return i + 1;
    }
    return 0;
}

/* Any move among the first five statuses; `closed` from anywhere; out of `closed` only to
 * `open` (a reopen). */
int case_transition_allowed(const char *from, const char *to)
{
    if (strcmp(from, to) == 0 || strcmp(to, "closed") == 0)
        return 1;
    if (strcmp(from, "closed") == 0)
        return strcmp(to, "open") == 0;
    return 1;
}

void case_transition_targets(const char *from, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; case_statuses[i] && used < len; i++) {
        if (strcmp(case_statuses[i], from) == 0 || !case_transition_allowed(from, case_statuses[i]))
            continue;
        used +=
            (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", case_statuses[i]);
    }
}

void case_status_set(support_case *c, const char *status, long long now)
{
    if (strcmp(c->status, status) == 0)
        return;
    if (strcmp(status, "resolved") == 0)
        c->resolved_at = now;
    else if (strcmp(c->status, "resolved") == 0)
        c->resolved_at = 0;
    if (strcmp(status, "closed") == 0)
        c->closed_at = now;
    else if (strcmp(c->status, "closed") == 0)
        c->closed_at = 0;
    snprintf(c->status, sizeof(c->status), "%s", status);
}

static int check_id(const json_t *value, const char *path, json_t *errors)
{
    if (crm_id_valid(json_string_value(value)))
        return 0;
    crm_problem_errors_add(errors, path, "format", "must be an id (24 lowercase hex digits)");
    return 1;
}

#define REQUIRED (CRM_FIELD_REQUIRED | CRM_FIELD_NOT_BLANK)

#define READ_ONLY(name)                                                                            \
    {                                                                                              \
        name, CRM_FIELD_STRING, CRM_FIELD_READ_ONLY, 0, 0, NULL, NULL                              \
    }

#define READ_ONLY_FIELDS                                                                           \
    READ_ONLY("id"), READ_ONLY("created_by"), READ_ONLY("created_at"), READ_ONLY("updated_at"),    \
        READ_ONLY("resolved_at"), READ_ONLY("closed_at"), READ_ONLY("version")

#define WRITABLE_FIELDS(title_flags)                                                               \
    {"title", CRM_FIELD_STRING, title_flags, 1, CASE_TITLE_MAX, NULL, NULL},                       \
        {"description", CRM_FIELD_STRING, CRM_FIELD_NULLABLE, 0, CASE_DESC_MAX, NULL, NULL},       \
        {"assigned_to", CRM_FIELD_STRING, CRM_FIELD_NULLABLE, 0, 0, NULL, check_id},               \
        {"priority", CRM_FIELD_STRING, 0, 0, 0, case_priorities, NULL},                            \
    {                                                                                              \
        "status", CRM_FIELD_STRING, 0, 0, 0, case_statuses, NULL                                   \
    }

static const crm_field create_fields[] = {
    {"customer_id", CRM_FIELD_STRING, REQUIRED, 0, 0, NULL, check_id},
    WRITABLE_FIELDS(REQUIRED),
    READ_ONLY_FIELDS,
};

static const crm_field patch_fields[] = {
    READ_ONLY("customer_id"),
    WRITABLE_FIELDS(CRM_FIELD_NOT_BLANK),
    READ_ONLY_FIELDS,
};

#define COUNT(table) (sizeof(table) / sizeof(table[0]))

/* A body that is not an object is one error on the body itself (field ""). */
static size_t validate_body(const json_t *body, const crm_field *fields, size_t count,
                            json_t *errors)
{
    if (!json_is_object(body)) {
        crm_problem_errors_add(errors, "", "type", "the body must be a JSON object");
        return 1;
    }
    return crm_validate(body, fields, count, "", errors);
}

static const char *string_of(const json_t *body, const char *name)
{
    return json_string_value(json_object_get(body, name));
}

size_t case_create_read(const json_t *body, long long now, support_case *c, json_t *errors)
{
    memset(c, 0, sizeof(*c));
    size_t bad = validate_body(body, create_fields, COUNT(create_fields), errors);
    if (bad)
        return bad;
    const char *description = string_of(body, "description");
    const char *assigned_to = string_of(body, "assigned_to");
    const char *priority = string_of(body, "priority");
    const char *status = string_of(body, "status");
    snprintf(c->customer_id, sizeof(c->customer_id), "%s", string_of(body, "customer_id"));
    c->title = strdup(string_of(body, "title"));
    c->description = description ? strdup(description) : NULL;
    snprintf(c->assigned_to, sizeof(c->assigned_to), "%s", assigned_to ? assigned_to : "");
    snprintf(c->priority, sizeof(c->priority), "%s", priority ? priority : "normal");
    snprintf(c->status, sizeof(c->status), "new");
    case_status_set(c, status ? status : "new", now);
    c->created_at = c->updated_at = now;
    c->version = 1;
    return 0;
}

size_t case_patch_read(const json_t *body, case_patch *patch, json_t *errors)
{
    memset(patch, 0, sizeof(*patch));
    size_t bad = validate_body(body, patch_fields, COUNT(patch_fields), errors);
    if (bad)
        return bad;
    const json_t *value;
    if ((value = json_object_get(body, "title"))) {
        patch->has_title = 1;
        patch->title = strdup(json_string_value(value));
    }
    if ((value = json_object_get(body, "description"))) {
        patch->has_description = 1;
        patch->description = json_is_string(value) ? strdup(json_string_value(value)) : NULL;
    }
    if ((value = json_object_get(body, "assigned_to"))) {
        patch->has_assigned_to = 1;
        snprintf(patch->assigned_to, sizeof(patch->assigned_to), "%s",
                 json_is_string(value) ? json_string_value(value) : "");
    }
    if ((value = json_object_get(body, "priority"))) {
        patch->has_priority = 1;
        snprintf(patch->priority, sizeof(patch->priority), "%s", json_string_value(value));
    }
    if ((value = json_object_get(body, "status"))) {
        patch->has_status = 1;
        snprintf(patch->status, sizeof(patch->status), "%s", json_string_value(value));
    }
    return 0;
}

static int same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int case_patch_apply(support_case *c, const case_patch *patch, long long now)
{
    int changed = 0;
    if (patch->has_title && strcmp(c->title, patch->title) != 0) {
        free(c->title);
        c->title = strdup(patch->title);
        changed = 1;
    }
    if (patch->has_description && !same_text(c->description, patch->description)) {
        free(c->description);
        c->description = patch->description ? strdup(patch->description) : NULL;
        changed = 1;
    }
    if (patch->has_assigned_to && strcmp(c->assigned_to, patch->assigned_to) != 0) {
        snprintf(c->assigned_to, sizeof(c->assigned_to), "%s", patch->assigned_to);
        changed = 1;
    }
    if (patch->has_priority && strcmp(c->priority, patch->priority) != 0) {
        snprintf(c->priority, sizeof(c->priority), "%s", patch->priority);
        changed = 1;
    }
    if (patch->has_status && strcmp(c->status, patch->status) != 0) {
        case_status_set(c, patch->status, now);
        changed = 1;
    }
    return changed;
}

static void time_or_null(crm_json_text *out, long long milliseconds)
{
    if (milliseconds)
        crm_json_text_time(out, milliseconds);
    else
        crm_json_text_lit(out, "null");
}

static void text_or_null(crm_json_text *out, const char *text)
{
    crm_json_text_string(out, text && text[0] ? text : NULL);
}

void case_json_write(crm_json_text *out, const support_case *c)
{
    crm_json_text_lit(out, "{\"id\":");
    crm_json_text_string(out, c->id);
    crm_json_text_lit(out, ",\"customer_id\":");
    crm_json_text_string(out, c->customer_id);
    crm_json_text_lit(out, ",\"title\":");
    crm_json_text_string(out, c->title ? c->title : "");
    crm_json_text_lit(out, ",\"description\":");
    crm_json_text_string(out, c->description);
    crm_json_text_lit(out, ",\"assigned_to\":");
    text_or_null(out, c->assigned_to);
    crm_json_text_lit(out, ",\"priority\":");
    crm_json_text_string(out, c->priority);
    crm_json_text_lit(out, ",\"status\":");
    crm_json_text_string(out, c->status);
    crm_json_text_lit(out, ",\"created_by\":");
    text_or_null(out, c->created_by);
    crm_json_text_lit(out, ",\"created_at\":");
    crm_json_text_time(out, c->created_at);
    crm_json_text_lit(out, ",\"updated_at\":");
    crm_json_text_time(out, c->updated_at);
    crm_json_text_lit(out, ",\"resolved_at\":");
    time_or_null(out, c->resolved_at);
    crm_json_text_lit(out, ",\"closed_at\":");
    time_or_null(out, c->closed_at);
    crm_json_text_lit(out, ",\"version\":");
    crm_json_text_int(out, c->version);
    crm_json_text_lit(out, "}");
}

/* ---- lists ---- */

const char *const case_list_params[] = {"limit",         "cursor",         "sort",        "status",
                                        "priority",      "assigned_to",    "customer_id", "q",
                                        "created_after", "created_before", NULL};
const char *const case_nested_list_params[] = {
    "limit",       "cursor", "sort",          "status",         "priority",
    "assigned_to", "q",      "created_after", "created_before", NULL};
const char *const case_sortable[] = {"created_at", "updated_at", "priority", NULL};

/* Reads a comma list of distinct values of `choices` into `out` (NULL-terminated, up to
 * `max` - 1). Returns 0 or -1. */
static int choice_list_read(const char *text, const char *const *choices, const char **out,
                            size_t max)
{
    size_t n = 0;
    for (const char *item = text; item;) {
        size_t len = strcspn(item, ",");
        size_t known = 0;
        for (; choices[known]; known++) {
            if (strlen(choices[known]) == len && strncmp(item, choices[known], len) == 0)
                break;
        }
        if (!choices[known] || n + 1 >= max)
            return -1;
        for (size_t i = 0; i < n; i++) {
            if (out[i] == choices[known])
                return -1;
        }
        out[n++] = choices[known];
        item = item[len] == ',' ? item + len + 1 : NULL;
    }
    out[n] = NULL;
    return 0;
}

int case_filters_read(const crm_query *query, const char *caller_id, case_filters *f, char *err,
                      size_t err_len)
{
    const char *text;
    memset(f, 0, sizeof(*f));
    if ((text = crm_query_get(query, "status")) &&
        choice_list_read(text, case_statuses, f->statuses, COUNT(f->statuses)) != 0) {
        snprintf(err, err_len, "status must be a status or a comma list of distinct statuses");
        return -1;
    }
    if ((text = crm_query_get(query, "priority")) &&
        choice_list_read(text, case_priorities, f->priorities, COUNT(f->priorities)) != 0) {
        snprintf(err, err_len,
                 "priority must be a priority or a comma list of distinct priorities");
        return -1;
    }
    if ((text = crm_query_get(query, "assigned_to"))) {
        if (strcmp(text, "me") == 0) {
            f->assigned = 1;
            snprintf(f->assigned_to, sizeof(f->assigned_to), "%.24s", caller_id);
        } else if (strcmp(text, "none") == 0) {
            f->assigned = 2;
        } else if (crm_id_valid(text)) {
            f->assigned = 1;
            snprintf(f->assigned_to, sizeof(f->assigned_to), "%s", text);
        } else {
            snprintf(err, err_len, "assigned_to must be a user id, me or none");
            return -1;
        }
    }
    if ((text = crm_query_get(query, "customer_id"))) {
        if (!crm_id_valid(text)) {
            snprintf(err, err_len, "customer_id must be an id");
            return -1;
        }
        snprintf(f->customer_id, sizeof(f->customer_id), "%s", text);
    }
    if ((text = crm_query_get(query, "q"))) {
        size_t length = crm_utf8_length(text);
        if (length < 1 || length > CASE_Q_MAX) {
            snprintf(err, err_len, "q must be 1 to %d characters", CASE_Q_MAX);
            return -1;
        }
        f->q = text;
    }
    if ((text = crm_query_get(query, "created_after"))) {
        if (crm_time_parse(text, &f->created_after) != 0) {
            snprintf(err, err_len, "created_after must be an RFC 3339 time");
            return -1;
        }
        f->has_after = 1;
    }
    if ((text = crm_query_get(query, "created_before"))) {
        if (crm_time_parse(text, &f->created_before) != 0) {
            snprintf(err, err_len, "created_before must be an RFC 3339 time");
            return -1;
        }
        f->has_before = 1;
    }
    return 0;
}

char *case_filters_key_new(const crm_query *query, const case_filters *f)
{
    char *key = NULL;
    const char *q = crm_query_get(query, "q");
    if (asprintf(&key, "s=%s&p=%s&a=%d:%s&c=%s&q=%s&ca=%d:%lld&cb=%d:%lld",
                 crm_query_get(query, "status") ? crm_query_get(query, "status") : "",
                 crm_query_get(query, "priority") ? crm_query_get(query, "priority") : "",
                 f->assigned, f->assigned_to, f->customer_id, q ? q : "", f->has_after,
                 f->created_after, f->has_before, f->created_before) < 0)
        return NULL;
    return key;
}

/* ---- customer events ---- */

int customer_event_parse(const char *value, size_t len, customer_event *event, char *err,
                         size_t err_len)
{
    json_error_t error;
    int rc = -1;
    memset(event, 0, sizeof(*event));
    json_t *root = value ? json_loadb(value, len, JSON_REJECT_DUPLICATES, &error) : NULL;
    if (!json_is_object(root)) {
        snprintf(err, err_len, "the value is not a JSON object");
        goto done;
    }
    const char *id = string_of(root, "id");
    const char *type = string_of(root, "type");
    const char *customer_id = string_of(root, "customer_id");
    const char *occurred_at = string_of(root, "occurred_at");
    if (!id || !id[0] || strlen(id) >= sizeof(event->id)) {
        snprintf(err, err_len, "id is missing or not a short string");
        goto done;
    }
    if (!type || strlen(type) >= sizeof(event->type) || strncmp(type, "customer.", 9) != 0) {
        snprintf(err, err_len, "type is missing or not a customer event");
        goto done;
    }
    if (!customer_id || !crm_id_valid(customer_id)) {
        snprintf(err, err_len, "customer_id is missing or not an id");
        goto done;
    }
    if (!occurred_at || crm_time_parse(occurred_at, &event->occurred_at) != 0) {
        snprintf(err, err_len, "occurred_at is missing or not an RFC 3339 time");
        goto done;
    }
    snprintf(event->id, sizeof(event->id), "%s", id);
    snprintf(event->type, sizeof(event->type), "%s", type);
    snprintf(event->customer_id, sizeof(event->customer_id), "%s", customer_id);
    rc = 0;
done:
    json_decref(root);
    return rc;
}
