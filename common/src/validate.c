/* The one walker for validation tables. */
#include "crm/validate.h"

#include "crm/problem.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

size_t crm_utf8_length(const char *text)
{
    size_t count = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if ((*p & 0xC0) != 0x80) /* count every byte that starts a code point */
            count++;
    }
    return count;
}

static int blank(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (!isspace(*p))
            return 0;
    }
    return 1;
}

static int type_matches(const json_t *value, crm_field_type type)
{
    switch (type) {
    case CRM_FIELD_STRING:
        return json_is_string(value);
    case CRM_FIELD_BOOLEAN:
        return json_is_boolean(value);
    case CRM_FIELD_INTEGER:
        return json_is_integer(value);
    case CRM_FIELD_OBJECT:
        return json_is_object(value);
    case CRM_FIELD_ARRAY:
        return json_is_array(value);
    }
    return 0;
}

static const char *const type_names[] = {"a string", "true or false", "an integer", "an object",
                                         "an array"};

static const crm_field *field_find(const crm_field *fields, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(fields[i].name, name) == 0)
            return &fields[i];
    }
    return NULL;
}

static int in_choices(const char *text, const char *const *choices)
{
    for (size_t i = 0; choices[i]; i++) {
        if (strcmp(text, choices[i]) == 0)
            return 1;
    }
    return 0;
}

/* Checks one present member; appends at most one error (extra rules may add their own). */
static size_t field_check(const crm_field *field, const json_t *value, const char *path,
                          json_t *errors)
{
    char message[160];
    if (field->flags & CRM_FIELD_READ_ONLY) {
        crm_problem_errors_add(errors, path, "read_only", "this field cannot be written");
        return 1;
    }
    if (json_is_null(value)) {
        if (field->flags & CRM_FIELD_NULLABLE)
            return 0;
        crm_problem_errors_add(errors, path,
                               field->flags & CRM_FIELD_REQUIRED ? "required" : "type",
                               "must not be null");
        return 1;
    }
    if (!type_matches(value, field->type)) {
        snprintf(message, sizeof(message), "must be %s", type_names[field->type]);
        crm_problem_errors_add(errors, path, "type", message);
        return 1;
    }
    if (field->type == CRM_FIELD_STRING) {
        const char *text = json_string_value(value);
        size_t length = crm_utf8_length(text);
        if ((field->flags & CRM_FIELD_NOT_BLANK) && blank(text)) {
            crm_problem_errors_add(errors, path, "required", "must not be empty or blank");
            return 1;
        }
        if (field->max_length && (length < field->min_length || length > field->max_length)) {
            snprintf(message, sizeof(message), "must be %zu to %zu characters long",
                     field->min_length, field->max_length);
            crm_problem_errors_add(errors, path, "length", message);
            return 1;
        }
        if (strlen(text) != json_string_length(value)) {
            crm_problem_errors_add(errors, path, "format", "must not contain NUL characters");
            return 1;
        }
        if (field->choices && !in_choices(text, field->choices)) {
            size_t used = (size_t)snprintf(message, sizeof(message), "must be one of");
            for (size_t i = 0; field->choices[i] && used < sizeof(message); i++)
                used += (size_t)snprintf(message + used, sizeof(message) - used, "%s %s",
                                         i ? "," : "", field->choices[i]);
            crm_problem_errors_add(errors, path, "enum", message);
            return 1;
        }
    }
    if (field->check && field->check(value, path, errors))
        return 1;
    return 0;
}

/* Writes `prefix` + `name` into `path`, cut at a code point boundary when too long: an entry
 * whose field is invalid UTF-8 could not be built and would be lost. */
static void path_make(char *path, size_t size, const char *prefix, const char *name)
{
    size_t prefix_len = strlen(prefix);
    size_t len = (size_t)snprintf(path, size, "%s%s", prefix, name);
    if (len < size)
        return;
    len = size - 1; /* the bytes kept; the first one cut off: */
    unsigned char cut = (unsigned char)(len < prefix_len ? prefix[len] : name[len - prefix_len]);
    while (len > 0 && (cut & 0xC0) == 0x80) /* a continuation: back to its code point's start */
        cut = (unsigned char)path[--len];
    path[len] = '\0';
}

size_t crm_validate(const json_t *body, const crm_field *fields, size_t count, const char *prefix,
                    json_t *errors)
{
    char path[160];
    size_t bad = 0;
    const char *name;
    const json_t *value;

    json_object_foreach((json_t *)body, name, value)
    {
        path_make(path, sizeof(path), prefix, name);
        const crm_field *field = field_find(fields, count, name);
        if (!field) {
            crm_problem_errors_add(errors, path, "unknown", "no such field");
            bad++;
            continue;
        }
        bad += field_check(field, value, path, errors);
    }
    for (size_t i = 0; i < count; i++) {
        const json_t *present = json_object_get(body, fields[i].name);
        if ((fields[i].flags & CRM_FIELD_REQUIRED) && !present) {
            path_make(path, sizeof(path), prefix, fields[i].name);
            crm_problem_errors_add(errors, path, "required", "this field is required");
            bad++;
        }
    }
    return bad;
}

/* Lengths count code points, as every other limit of the API does (and as the pattern of
 * api/openapi.yaml does): a local part of 64 "é" is 128 bytes and still valid. */
static int utf8_starts_code_point(unsigned char byte)
{
    return (byte & 0xC0) != 0x80;
}

int crm_email_valid(const char *text)
{
    const char *at = strchr(text, '@');
    if (!at || at == text || strchr(at + 1, '@'))
        return 0;
    size_t local = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p <= ' ' || *p == 0x7f || *p == '(' || *p == ')' || *p == ',' || *p == ';' ||
            *p == ':' || *p == '<' || *p == '>' || *p == '[' || *p == ']' || *p == '\\' ||
            *p == '"')
            return 0;
        if ((const char *)p < at && utf8_starts_code_point(*p))
            local++;
    }
    if (local > 64)
        return 0;
    const char *domain = at + 1;
    size_t label = 0, labels = 0;
    for (const char *p = domain;; p++) {
        if (*p == '.' || *p == '\0') {
            if (label == 0 || label > 63)
                return 0;
            labels++;
            label = 0;
            if (*p == '\0')
                break;
        } else if (utf8_starts_code_point((unsigned char)*p)) {
            label++;
        }
    }
    return labels >= 2 && crm_utf8_length(domain) <= 253;
}

int crm_check_email(const json_t *value, const char *path, json_t *errors)
{
    if (crm_email_valid(json_string_value(value)))
        return 0;
    crm_problem_errors_add(errors, path, "format", "not an email address");
    return 1;
}
