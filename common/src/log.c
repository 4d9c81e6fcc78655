/* JSON log lines on stderr, one write(2) each so lines from several threads never interleave. */
#include "crm/log.h"

#include "crm/json_text.h"
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

/* ---- the line, encoded by hand (json_text.h): no JSON tree, which with its dump was half the
 * cost of an access line ---- */

static int base_member(const char *key)
{
    return strcmp(key, "ts") == 0 || strcmp(key, "level") == 0 || strcmp(key, "service") == 0 ||
           strcmp(key, "request_id") == 0 || strcmp(key, "msg") == 0;
}

/* The members of `fields` after the base ones (which they cannot replace), each value encoded
 * by jansson. */
static void put_fields(crm_json_text *line, json_t *fields)
{
    const char *key;
    json_t *value;
    json_object_foreach(fields, key, value)
    {
        if (base_member(key))
            continue;
        char *encoded = json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        if (!encoded) {
            line->failed = 1;
            return;
        }
        crm_json_text_lit(line, ",");
        crm_json_text_string(line, key);
        crm_json_text_lit(line, ":");
        crm_json_text_raw(line, encoded, strlen(encoded));
        free(encoded);
    }
}

static void write_line(crm_log_level level, json_t *fields, const char *members, const char *format,
                       va_list args)
{
    char ts[CRM_RFC3339_LEN];
    char msg[2048];
    crm_json_text line;
    int saved_errno = errno;

    crm_time_now(ts);
    vsnprintf(msg, sizeof(msg), format, args);
    crm_json_text_init(&line, 512);
    crm_json_text_lit(&line, "{\"ts\":\"");
    crm_json_text_raw(&line, ts, strlen(ts));
    crm_json_text_lit(&line, "\",\"level\":\"");
    crm_json_text_raw(&line, level_names[level], strlen(level_names[level]));
    crm_json_text_lit(&line, "\",\"service\":");
    crm_json_text_string(&line, log_service ? log_service : program_invocation_short_name);
    crm_json_text_lit(&line, ",\"request_id\":");
    crm_json_text_string(&line, crm_log_request_id());
    crm_json_text_lit(&line, ",\"msg\":");
    crm_json_text_string(&line, msg);
    if (fields)
        put_fields(&line, fields);
    if (members && members[0]) {
        crm_json_text_lit(&line, ",");
        crm_json_text_raw(&line, members, strlen(members));
    }
    crm_json_text_lit(&line, "}\n");
    if (!line.failed && write(log_fd, line.text, line.len) < 0) {
        /* Nowhere left to report a failed log write. */
    }
    crm_json_text_clean(&line);
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
