/* Request-body validation as a table per resource (STYLE.md rule 7): one walker reports every
 * bad field once (its first failed rule) with API.md's codes, refuses unknown and read-only
 * members, and accepts only the JSON type each field declares, so no value can smuggle a
 * MongoDB operator. */
#ifndef CRM_VALIDATE_H
#define CRM_VALIDATE_H

#include <jansson.h>
#include <stddef.h>

typedef enum crm_field_type {
    CRM_FIELD_STRING = 0,
    CRM_FIELD_BOOLEAN,
    CRM_FIELD_INTEGER,
    CRM_FIELD_OBJECT,
    CRM_FIELD_ARRAY,
} crm_field_type;

enum {
    CRM_FIELD_REQUIRED = 1 << 0,  /* must be present (and not null) */
    CRM_FIELD_NULLABLE = 1 << 1,  /* null is accepted (clears the field) */
    CRM_FIELD_READ_ONLY = 1 << 2, /* present at all: 422 read_only */
    CRM_FIELD_NOT_BLANK = 1 << 3, /* a string of only white space is invalid (code required) */
};

/* An extra rule for one field's value (already of the right type). Appends its own error(s) to
 * `errors` under `path` and returns 1 when the value is bad, else 0. */
typedef int (*crm_field_check)(const json_t *value, const char *path, json_t *errors);

typedef struct crm_field {
    const char *name;
    crm_field_type type;
    unsigned flags;
    size_t min_length, max_length; /* strings: code points (0, 0: no bound) */
    const char *const *choices;    /* strings: NULL-terminated allowed values (code enum) */
    crm_field_check check;         /* optional extra rule */
} crm_field;

/* Validates the members of the object `body` against `fields`. `prefix` ("" or "contact_info.")
 * names nested fields. Appends one error per bad field to `errors` and returns how many. */
size_t crm_validate(const json_t *body, const crm_field *fields, size_t count, const char *prefix,
                    json_t *errors);

/* The number of Unicode code points in valid UTF-8 text. */
size_t crm_utf8_length(const char *text);

/* Whether `text` is a plausible e-mail address: one @, a non-empty local part of at most 64
 * code points, a domain of at most 253 code points in at least two dot-separated labels of 1..63
 * code points, no spaces, controls or any of ()<>[]\\,;:". */
int crm_email_valid(const char *text);

/* A crm_field_check for e-mail addresses (code format). */
int crm_check_email(const json_t *value, const char *path, json_t *errors);

#endif
