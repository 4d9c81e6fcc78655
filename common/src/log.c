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

/* A JSON string for text that may hold invalid UTF-8 (a path, a header): such bytes become '?'
 * rather than losing the whole line. */
static json_t *safe_string(const char *text)
{
    json_t *value = json_string(text);
    if (value)
        return value;
    char *copy = strdup(text);
    if (!copy)
        return json_string("");
    for (char *p = copy; *p; p++) {
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    }
    value = json_string(copy);
    free(copy);
    return value;
}

static void write_line(crm_log_level level, json_t *fields, const char *format, va_list args)
{
    char ts[CRM_RFC3339_LEN];
    char msg[2048];
    char *text = NULL;
    json_t *line = NULL;
    int saved_errno = errno;

    crm_time_now(ts);
    vsnprintf(msg, sizeof(msg), format, args);
    line = json_object();
    if (!line)
        goto done;
    json_object_set_new(line, "ts", json_string(ts));
    json_object_set_new(line, "level", json_string(level_names[level]));
    json_object_set_new(line, "service",
                        safe_string(log_service ? log_service : program_invocation_short_name));
    json_object_set_new(line, "request_id",
                        crm_log_request_id() ? safe_string(crm_log_request_id()) : json_null());
    json_object_set_new(line, "msg", safe_string(msg));
    if (fields)
        json_object_update_missing(line, fields);
    text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text)
        goto done;
    size_t len = strlen(text);
    text[len] = '\n'; /* replaces the NUL: the line and its newline go out in one write */
    if (write(log_fd, text, len + 1) < 0) {
        /* Nowhere left to report a failed log write. */
    }
done:
    free(text);
    json_decref(line);
    errno = saved_errno;
}

void crm_log_write(crm_log_level level, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    write_line(level, NULL, format, args);
    va_end(args);
}

void crm_log_write_fields(crm_log_level level, json_t *fields, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    write_line(level, fields, format, args);
    va_end(args);
}
