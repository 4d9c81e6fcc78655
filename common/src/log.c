/* JSON log lines on stderr, one write(2) each so lines from several threads never interleave. */
#include "crm/log.h"

#include "crm/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

crm_log_level crm_log_threshold = CRM_LOG_INFO;

static const char *log_service;
static int log_fd = STDERR_FILENO;
static _Thread_local char log_request_id[129];

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void crm_log_init(const char *service, crm_log_level threshold)
{
    log_service = service;
    crm_log_threshold = threshold;
}

void crm_log_set_fd(int fd)
{
    log_fd = fd;
}

void crm_log_set_request_id(const char *request_id)
{
    if (!request_id) {
        log_request_id[0] = '\0';
        return;
    }
    snprintf(log_request_id, sizeof(log_request_id), "%s", request_id);
}

const char *crm_log_request_id(void)
{
    return log_request_id[0] ? log_request_id : NULL;
}

int crm_log_level_parse(const char *text, long *level)
{
    for (long i = 0; i < (long)(sizeof(level_names) / sizeof(level_names[0])); i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *level = i;
            return 0;
        }
    }
    return -1;
}

/* ---- the line, encoded by hand: one buffer, no JSON tree (jansson's tree and dump were half
 * the cost of an access line) ---- */

typedef struct line_buffer {
    char *text;
    size_t len, cap;
    char stack[4096];
    int failed;
} line_buffer;

static void put(line_buffer *b, const char *data, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 2 > b->cap) { /* room for the closing "}\n" is checked at the end */
        size_t cap = b->cap * 2;
        while (cap < b->len + n + 2)
            cap *= 2;
        char *grown = b->text == b->stack ? malloc(cap) : realloc(b->text, cap);
        if (!grown) {
            b->failed = 1;
            return;
        }
        if (b->text == b->stack)
            memcpy(grown, b->stack, b->len);
        b->text = grown;
        b->cap = cap;
    }
    memcpy(b->text + b->len, data, n);
    b->len += n;
}

static void put_text(line_buffer *b, const char *text)
{
    put(b, text, strlen(text));
}

/* Length of the valid UTF-8 sequence at p (1 to 4), or 0 when it is not one (overlong forms,
 * surrogates and code points past U+10FFFF are not). */
static size_t utf8_sequence(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    size_t n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
    if (n == 0 || p[0] > 0xf4)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    }
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
        (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
        return 0;
    return n;
}

static int utf8_valid(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p;) {
        size_t n = utf8_sequence(p);
        if (n == 0)
            return 0;
        p += n;
    }
    return 1;
}

/* A JSON string for text that may hold invalid UTF-8 (a path, a header): then every byte past
 * ASCII becomes '?' rather than losing the whole line. */
static void put_string(line_buffer *b, const char *text)
{
    static const char hex[] = "0123456789abcdef";
    int valid = utf8_valid(text);
    const char *run = text;
    put(b, "\"", 1);
    for (const char *p = text;; p++) {
        unsigned char c = (unsigned char)*p;
        int plain = c >= 0x20 && c != '"' && c != '\\' && (c < 0x80 || valid);
        if (plain)
            continue;
        put(b, run, (size_t)(p - run));
        run = p + 1;
        if (c == '\0')
            break;
        if (c == '"' || c == '\\') {
            char escaped[2] = {'\\', (char)c};
            put(b, escaped, 2);
        } else if (c >= 0x80) {
            put(b, "?", 1);
        } else {
            char escaped[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(b, escaped, 6);
        }
    }
    put(b, "\"", 1);
}

static int base_member(const char *key)
{
    return strcmp(key, "ts") == 0 || strcmp(key, "level") == 0 || strcmp(key, "service") == 0 ||
           strcmp(key, "request_id") == 0 || strcmp(key, "msg") == 0;
}

/* The members of `fields` after the base ones (which they cannot replace), each value encoded
 * by jansson. */
static void put_fields(line_buffer *b, json_t *fields)
{
    const char *key;
    json_t *value;
    json_object_foreach(fields, key, value)
    {
        if (base_member(key))
            continue;
        char *encoded = json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        if (!encoded) {
            b->failed = 1;
            return;
        }
        put(b, ",", 1);
        put_string(b, key);
        put(b, ":", 1);
        put_text(b, encoded);
        free(encoded);
    }
}

static void write_line(crm_log_level level, json_t *fields, const char *members, const char *format,
                       va_list args)
{
    char ts[CRM_RFC3339_LEN];
    char msg[2048];
    line_buffer b = {.cap = sizeof(b.stack)};
    int saved_errno = errno;

    b.text = b.stack;
    crm_time_now(ts);
    vsnprintf(msg, sizeof(msg), format, args);
    put_text(&b, "{\"ts\":\"");
    put_text(&b, ts);
    put_text(&b, "\",\"level\":\"");
    put_text(&b, level_names[level]);
    put_text(&b, "\",\"service\":");
    put_string(&b, log_service ? log_service : program_invocation_short_name);
    put_text(&b, ",\"request_id\":");
    if (crm_log_request_id())
        put_string(&b, crm_log_request_id());
    else
        put_text(&b, "null");
    put_text(&b, ",\"msg\":");
    put_string(&b, msg);
    if (fields)
        put_fields(&b, fields);
    if (members && members[0]) {
        put(&b, ",", 1);
        put_text(&b, members);
    }
    put(&b, "}\n", 2);
    if (!b.failed && write(log_fd, b.text, b.len) < 0) {
        /* Nowhere left to report a failed log write. */
    }
    if (b.text != b.stack)
        free(b.text);
    errno = saved_errno;
}

void crm_log_write(crm_log_level level, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    write_line(level, NULL, NULL, format, args);
    va_end(args);
}

void crm_log_write_fields(crm_log_level level, json_t *fields, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    write_line(level, fields, NULL, format, args);
    va_end(args);
}

void crm_log_write_members(crm_log_level level, const char *members, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    write_line(level, NULL, members, format, args);
    va_end(args);
}
