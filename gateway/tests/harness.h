/* What the end-to-end gateway tests need around the tests themselves: crm-gateway processes
 * started with settings of their own on free ports (and always stopped), an HTTP client that
 * keeps every response header, access tokens signed with a key made at test time, and the main
 * of each test program. */
#ifndef GATEWAY_TESTS_HARNESS_H
#define GATEWAY_TESTS_HARNESS_H

#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>
#include <ulfius.h>

/* ---- gateway processes ---- */

typedef struct gateway_process {
    pid_t pid; /* 0 when not running */
    long port;
    char log[512]; /* its stderr */
} gateway_process;

/* Creates a private directory for logs and keys; returns its path (static storage), or NULL. */
const char *harness_workdir(void);

/* Deletes that directory and what it holds (kept when a test failed, for its logs). */
void harness_workdir_remove(void);

/* Starts `binary` with the environment of this process minus every CRM_* variable, plus
 * CRM_BIND, CRM_GATEWAY_PORT (a free port), CRM_JWT_PUBLIC_KEY_FILES = `public_key_file`, two
 * HTTP workers, and `settings` ("NAME=value", NULL-terminated). The child dies with this process.
 * Waits until /healthz answers. Returns 0, or -1 (the log says why). */
int gateway_process_start(gateway_process *gw, const char *binary, const char *name,
                          const char *public_key_file, const char *const *settings);

/* Sends SIGTERM, waits up to 15 s (then SIGKILL). Returns the exit status, or -1 when it had to
 * be killed or was not running. */
int gateway_process_stop(gateway_process *gw);

/* SIGKILLs every gateway still running (atexit and teardown safety net). */
void gateway_process_kill_all(void);

/* Prints the last lines of the gateway's log to stderr (for failing tests). */
void gateway_process_dump_log(const gateway_process *gw);

/* ---- the client ---- */

typedef struct reply {
    long status;
    char *body;
    size_t len;
    json_t *json;          /* the body parsed, when it is JSON */
    struct _u_map headers; /* every header of the final response */
    double seconds;        /* how long the exchange took */
} reply;

typedef struct request_options {
    const char *const *headers; /* extra "Name: value" lines, NULL-terminated */
    const char *body;           /* NULL: no body */
    size_t body_len;
    int chunked;        /* send the body without Content-Length */
    const char *source; /* local address to connect from ("127.0.0.2"), NULL: default */
    CURL *handle;       /* reuse this handle (and its connection), NULL: a fresh one */
} request_options;

/* Sends one request to 127.0.0.1:port and fills `r` (release with reply_clean). Fails the test
 * when no HTTP answer comes within 20 s. */
void http_call(reply *r, long port, const char *method, const char *path,
               const request_options *options);
void reply_clean(reply *r);

/* A response header, or NULL. */
const char *reply_header(const reply *r, const char *name);

/* For an answer of a fake upstream: a member of its echo ("upstream", "method", "target"), and
 * a request header it received (lowercase name), or NULL. */
const char *echo_field(const reply *r, const char *field);
const char *echo_header(const reply *r, const char *name);

/* The "type" of a problem answer, or NULL. */
const char *problem_type(const reply *r);

/* ---- tokens ---- */

typedef struct signing_key {
    char *private_pem;
    char kid[64];
} signing_key;

/* Makes an RSA key; when `public_key_file` is given, writes its public half there. Returns 0 or
 * -1. Release with signing_key_clean. */
int signing_key_make(signing_key *key, const char *public_key_file);
void signing_key_clean(signing_key *key);

/* An RS256 access token as the auth service issues it (iss, aud, sub, username, role, iat, exp,
 * jti), expiring `ttl` seconds from now (negative: already expired). The caller frees it. */
char *token_sign(const signing_key *key, const char *sub, const char *role, long ttl);

/* ---- the test program ---- */

/* The crm-gateway executable under test (argv[1] of the program). */
extern const char *harness_gateway_binary;

/* The test's signing key; its public half is harness_public_key_file, which every gateway the
 * harness starts trusts. Made by harness_key_setup (0 or -1), released by harness_key_clean. */
extern signing_key harness_key;
extern char harness_public_key_file[512];
int harness_key_setup(void);
void harness_key_clean(void);

/* "Authorization: Bearer <token>" into `out`. */
void bearer_header(char *out, size_t len, const char *token);

/* A port where nothing listens (connections are refused) for the rest of the process. */
long harness_dead_port(void);

/* "NAME=http://127.0.0.1:a[,http://127.0.0.1:b]" into `out` (no second instance when b <= 0). */
void harness_url_setting(char *out, size_t len, const char *name, long port_a, long port_b);

/* GET `path` with `bearer` (a whole Authorization line, or NULL). */
void get_as(reply *r, const gateway_process *gw, const char *path, const char *bearer);

/* Whether `text` (may be NULL) matches the extended regular expression `pattern`. */
int matches(const char *pattern, const char *text);

/* Stops the gateway and fails the test unless it exits with status 0 (so a leak the sanitizers
 * find, or a drain that hangs, fails the test). */
void assert_clean_exit(gateway_process *gw);

/* Runs `suite` in this process (the fake services are its threads: a forked test would not have
 * them), kills every gateway at exit, removes the work directory when every test passed. Returns
 * the exit status for main. */
int harness_run(Suite *suite, int argc, char **argv);

#endif
