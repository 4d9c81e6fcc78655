/* The JSON writer of json_text.h. */
#include "crm/json_text.h"

#include "crm/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void crm_json_text_init(crm_json_text *out, size_t initial)
{
    memset(out, 0, sizeof(*out));
    out->cap = initial ? initial : 1024;
    out->text = malloc(out->cap);
    if (!out->text)
        out->failed = 1;
    else
        out->text[0] = '\0';
}

void crm_json_text_clean(crm_json_text *out)
{
    if (!out)
        return;
    free(out->text);
    memset(out, 0, sizeof(*out));
}

void crm_json_text_raw(crm_json_text *out, const char *data, size_t n)
{
    if (out->failed)
        return;
    if (out->len + n + 1 > out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 1024;
        while (cap < out->len + n + 1)
            cap *= 2;
        char *grown = realloc(out->text, cap);
        if (!grown) {
            out->failed = 1;
            return;
        }
        out->text = grown;
        out->cap = cap;
    }
    memcpy(out->text + out->len, data, n);
    out->len += n;
    out->text[out->len] = '\0';
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

void crm_json_text_string(crm_json_text *out, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!value) {
        crm_json_text_lit(out, "null");
        return;
    }
    int valid = utf8_valid(value);
    const char *run = value;
    crm_json_text_lit(out, "\"");
    for (const char *p = value;; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\' && (c < 0x80 || valid))
            continue;
        crm_json_text_raw(out, run, (size_t)(p - run));
        run = p + 1;
        if (c == '\0')
            break;
        const char *escape = c == '"'    ? "\\\""
                             : c == '\\' ? "\\\\"
                             : c == '\b' ? "\\b"
                             : c == '\f' ? "\\f"
                             : c == '\n' ? "\\n"
                             : c == '\r' ? "\\r"
                             : c == '\t' ? "\\t"
                                         : NULL;
        if (escape) {
            crm_json_text_raw(out, escape, 2);
        } else if (c >= 0x80) {
            crm_json_text_lit(out, "?");
        } else {
            char seq[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            crm_json_text_raw(out, seq, sizeof(seq));
        }
    }
    crm_json_text_lit(out, "\"");
}

void crm_json_text_int(crm_json_text *out, long long value)
{
    char digits[24];
    int n = snprintf(digits, sizeof(digits), "%lld", value);
    crm_json_text_raw(out, digits, (size_t)n);
}

void crm_json_text_time(crm_json_text *out, long long milliseconds)
{
    char text[CRM_RFC3339_LEN];
    crm_time_format_ms(milliseconds, text);
    crm_json_text_string(out, text);
}
