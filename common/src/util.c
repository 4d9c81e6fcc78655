/* Clocks, timestamps and UUIDs shared by logging, problems and resources. */
#include "crm/util.h"

#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void crm_time_format(const struct timespec *when, char *buf)
{
    struct tm tm;
    char seconds[20];
    gmtime_r(&when->tv_sec, &tm);
    strftime(seconds, sizeof(seconds), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, CRM_RFC3339_LEN, "%.19s.%03uZ", seconds,
             (unsigned)(when->tv_nsec / 1000000) % 1000u);
}

void crm_time_now(char *buf)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    crm_time_format(&now, buf);
}

long long crm_time_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

void crm_time_format_ms(long long milliseconds, char *buf)
{
    long long seconds = milliseconds / 1000, rest = milliseconds % 1000;
    if (rest < 0) { /* times before 1970 */
        rest += 1000;
        seconds--;
    }
    struct timespec when = {.tv_sec = (time_t)seconds, .tv_nsec = (long)rest * 1000000L};
    crm_time_format(&when, buf);
}

json_t *crm_time_json(long long milliseconds)
{
    char text[CRM_RFC3339_LEN];
    crm_time_format_ms(milliseconds, text);
    return json_string(text);
}

double crm_monotonic_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* Random bytes from the kernel, fetched 512 at a time per thread: a request id per request was
 * a getrandom call per request. The bytes are as good; they only wait in memory a little. */
static void random_take(uint8_t *out, size_t n)
{
    static _Thread_local uint8_t pool[512];
    static _Thread_local size_t left;
    if (left < n) {
        randombytes_buf(pool, sizeof(pool)); /* libsodium: thread-safe, initialises itself */
        left = sizeof(pool);
    }
    memcpy(out, pool + sizeof(pool) - left, n);
    sodium_memzero(pool + sizeof(pool) - left, n); /* each byte is handed out once */
    left -= n;
}

void crm_uuid_v4(char *buf)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t b[16];
    random_take(b, sizeof(b));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    char *out = buf;
    for (size_t i = 0; i < sizeof(b); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *out++ = '-';
        *out++ = hex[b[i] >> 4];
        *out++ = hex[b[i] & 15];
    }
    *out = '\0';
}
