/* JSON written straight into a growing buffer, for the hot paths that would otherwise build a
 * jansson tree only to dump it at once: the access log line, and the resources a list or a read
 * answers. Strings are escaped as jansson's json_dumps escapes them (", \, \b \f \n \r \t, other
 * control characters as \u00XX), so the text is byte for byte what the tree would have given;
 * text that is not valid UTF-8 has every byte past ASCII written as '?'. */
#ifndef CRM_JSON_TEXT_H
#define CRM_JSON_TEXT_H

#include <stddef.h>

typedef struct crm_json_text {
    char *text; /* NUL-terminated while not failed */
    size_t len, cap;
    int failed; /* out of memory: every later append is ignored */
} crm_json_text;

/* An empty text with `initial` bytes of room (0 picks a default). Check ->failed after use. */
void crm_json_text_init(crm_json_text *out, size_t initial);
void crm_json_text_clean(crm_json_text *out);

/* Appends `n` bytes as they are (punctuation, keys known to need no escaping, numbers). */
void crm_json_text_raw(crm_json_text *out, const char *data, size_t n);

/* Appends a literal: crm_json_text_lit(out, "{\"id\":"). */
#define crm_json_text_lit(out, literal) crm_json_text_raw((out), (literal), sizeof(literal) - 1)

/* Appends `value` as a JSON string, or null when it is NULL. */
void crm_json_text_string(crm_json_text *out, const char *value);

/* Appends an integer. */
void crm_json_text_int(crm_json_text *out, long long value);

/* Appends a time in milliseconds since the epoch as crm_time_json writes it. */
void crm_json_text_time(crm_json_text *out, long long milliseconds);

#endif
