/* The helpers of harness.h. Processes are forked with everything they need prepared beforehand,
 * since the fake upstreams' threads run while the child is between fork and exec. */
#include "harness.h"

#include "crm/jwt.h"
#include "crm/util.h"

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <jwt.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_PROCESSES 8
#define MAX_ENV       512

static gateway_process *started[MAX_PROCESSES];

/* ---- gateway processes ---- */

const char *harness_workdir(void)
{
    static char dir[256];
    if (dir[0])
        return dir;
    snprintf(dir, sizeof(dir), "%s/crm-gateway-test-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) {
        dir[0] = '\0';
        return NULL;
    }
    return dir;
}

void harness_workdir_remove(void)
{
    char path[512];
    const char *dir = harness_workdir();
    DIR *listing = dir ? opendir(dir) : NULL;
    if (!listing)
        return;
    for (struct dirent *entry; (entry = readdir(listing));) {
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) {
            snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
            unlink(path);
        }
    }
    closedir(listing);
    rmdir(dir);
}

/* A port nobody listens on now: bind port 0, read it back, close. */
static long free_port(void)
{
    struct sockaddr_in address = {.sin_family = AF_INET};
    socklen_t len = sizeof(address);
    long port = -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&address, sizeof(address)) == 0 &&
        getsockname(fd, (struct sockaddr *)&address, &len) == 0)
        port = ntohs(address.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static size_t discard(char *data, size_t size, size_t count, void *user)
{
    (void)data;
    (void)user;
    return size * count;
}

static int healthy(long port)
{
    char url[64];
    long status = 0;
    CURL *curl = curl_easy_init();
    snprintf(url, sizeof(url), "http://127.0.0.1:%ld/healthz", port);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    return status == 200;
}

/* The child's environment: ours without CRM_*, then the test's settings, then the harness's
 * own (getenv takes the first, so a test's setting wins over the harness's default). */
static char **child_environment(char *own[], size_t own_count, const char *const *settings)
{
    static char *env[MAX_ENV];
    size_t n = 0;
    for (char **e = environ; *e && n < MAX_ENV - own_count - 32; e++) {
        if (strncmp(*e, "CRM_", 4) != 0)
            env[n++] = *e;
    }
    for (size_t i = 0; settings && settings[i] && n < MAX_ENV - own_count - 1; i++)
        env[n++] = (char *)settings[i];
    for (size_t i = 0; i < own_count; i++)
        env[n++] = own[i];
    env[n] = NULL;
    return env;
}

static void remember(gateway_process *gw)
{
    for (size_t i = 0; i < MAX_PROCESSES; i++) {
        if (!started[i] || started[i] == gw) {
            started[i] = gw;
            return;
        }
    }
}

static int start_once(gateway_process *gw, const char *binary, const char *public_key_file,
                      const char *const *settings)
{
    char port[48], keys[600];
    char *own[] = {"CRM_BIND=127.0.0.1", port, keys, "CRM_HTTP_THREADS=2",
                   "CRM_SHUTDOWN_GRACE_SECONDS=2"};
    gw->port = free_port();
    snprintf(port, sizeof(port), "CRM_GATEWAY_PORT=%ld", gw->port);
    snprintf(keys, sizeof(keys), "CRM_JWT_PUBLIC_KEY_FILES=%s", public_key_file);
    char **env = child_environment(own, sizeof(own) / sizeof(own[0]), settings);
    int log = open(gw->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0 || gw->port < 0)
        return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) { /* only async-signal-safe calls from here to exec */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(126);
        dup2(log, STDOUT_FILENO);
        dup2(log, STDERR_FILENO);
        execve(binary, (char *[]){"crm-gateway", NULL}, env);
        _exit(127);
    }
    close(log);
    if (pid < 0)
        return -1;
    gw->pid = pid;
    remember(gw);
    for (int i = 0; i < 300; i++) { /* 15 s */
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            gw->pid = 0;
            return -1;
        }
        if (healthy(gw->port))
            return 0;
        usleep(50000);
    }
    gateway_process_stop(gw);
    return -1;
}

int gateway_process_start(gateway_process *gw, const char *binary, const char *name,
                          const char *public_key_file, const char *const *settings)
{
    const char *dir = harness_workdir();
    memset(gw, 0, sizeof(*gw));
    if (!dir)
        return -1;
    snprintf(gw->log, sizeof(gw->log), "%s/%s.log", dir, name);
    /* Another process may take the free port between our probe and the bind: try again. */
    for (int attempt = 0; attempt < 3; attempt++) {
        if (start_once(gw, binary, public_key_file, settings) == 0)
            return 0;
    }
    gateway_process_dump_log(gw);
    return -1;
}

int gateway_process_stop(gateway_process *gw)
{
    int status = 0;
    if (!gw || gw->pid <= 0)
        return -1;
    kill(gw->pid, SIGTERM);
    for (int i = 0; i < 1500; i++) { /* 15 s */
        pid_t done = waitpid(gw->pid, &status, WNOHANG);
        if (done == gw->pid) {
            gw->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        if (done < 0) {
            gw->pid = 0;
            return -1;
        }
        usleep(10000);
    }
    kill(gw->pid, SIGKILL);
    waitpid(gw->pid, &status, 0);
    gw->pid = 0;
    return -1;
}

void gateway_process_kill_all(void)
{
    for (size_t i = 0; i < MAX_PROCESSES; i++) {
        if (started[i] && started[i]->pid > 0) {
            kill(started[i]->pid, SIGKILL);
            waitpid(started[i]->pid, NULL, 0);
            started[i]->pid = 0;
        }
    }
}

void gateway_process_dump_log(const gateway_process *gw)
{
    char line[2048];
    FILE *log = fopen(gw->log, "r");
    if (!log)
        return;
    fprintf(stderr, "---- %s ----\n", gw->log);
    long lines = 0;
    while (fgets(line, sizeof(line), log))
        lines++;
    rewind(log);
    for (long i = 0; fgets(line, sizeof(line), log); i++) {
        if (i >= lines - 40)
            fputs(line, stderr);
    }
    fclose(log);
}

/* ---- the client ---- */

typedef struct upload {
    const char *data;
    size_t len, sent;
} upload;

static size_t on_body(char *data, size_t size, size_t count, void *user)
{
    reply *r = user;
    size_t n = size * count;
    char *grown = realloc(r->body, r->len + n + 1);
    if (!grown)
        return 0;
    memcpy(grown + r->len, data, n);
    r->body = grown;
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

static size_t on_read(char *buffer, size_t size, size_t count, void *user)
{
    upload *u = user;
    size_t n = size * count;
    if (n > u->len - u->sent)
        n = u->len - u->sent;
    memcpy(buffer, u->data + u->sent, n);
    u->sent += n;
    return n;
}

void http_call(reply *r, long port, const char *method, const char *path,
               const request_options *options)
{
    static const request_options none = {0};
    char url[4096], source[64];
    struct curl_slist *list = NULL;
    const request_options *o = options ? options : &none;
    upload body = {o->body, o->body_len, 0};

    memset(r, 0, sizeof(*r));
    u_map_init(&r->headers);
    CURL *curl = o->handle ? o->handle : curl_easy_init();
    ck_assert_ptr_nonnull(curl);
    snprintf(url, sizeof(url), "http://127.0.0.1:%ld%s", port, path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
    if (o->source) {
        snprintf(source, sizeof(source), "host!%s", o->source);
        curl_easy_setopt(curl, CURLOPT_INTERFACE, source);
    } else {
        curl_easy_setopt(curl, CURLOPT_INTERFACE, NULL);
    }
    list = curl_slist_append(list, "Expect:");
    for (size_t i = 0; o->headers && o->headers[i]; i++)
        list = curl_slist_append(list, o->headers[i]);
    if (o->chunked) {
        list = curl_slist_append(list, "Transfer-Encoding: chunked");
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(curl, CURLOPT_READDATA, &body);
    } else if (o->body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, o->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
    } else {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);

    double begun = crm_monotonic_seconds();
    CURLcode rc = curl_easy_perform(curl);
    r->seconds = crm_monotonic_seconds() - begun;
    ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    for (struct curl_header *h = NULL; (h = curl_easy_nextheader(curl, CURLH_HEADER, -1, h));)
        u_map_put(&r->headers, h->name, h->value);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(list);
    if (!o->handle)
        curl_easy_cleanup(curl);
    const char *type = reply_header(r, "Content-Type");
    if (r->body && type && strstr(type, "json"))
        r->json = json_loadb(r->body, r->len, 0, NULL);
}

void reply_clean(reply *r)
{
    free(r->body);
    json_decref(r->json);
    u_map_clean(&r->headers);
    memset(r, 0, sizeof(*r));
}

const char *reply_header(const reply *r, const char *name)
{
    return u_map_get_case(&r->headers, name);
}

const char *echo_field(const reply *r, const char *field)
{
    return json_string_value(json_object_get(r->json, field));
}

const char *echo_header(const reply *r, const char *name)
{
    return json_string_value(json_object_get(json_object_get(r->json, "headers"), name));
}

const char *problem_type(const reply *r)
{
    return json_string_value(json_object_get(r->json, "type"));
}

/* ---- tokens ---- */

static char *pem_of(EVP_PKEY *pkey, int private_half)
{
    char *pem = NULL, *data = NULL;
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return NULL;
    int ok = private_half ? PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)
                          : PEM_write_bio_PUBKEY(bio, pkey);
    long len = ok ? BIO_get_mem_data(bio, &data) : 0;
    if (len > 0 && (pem = malloc((size_t)len + 1))) {
        memcpy(pem, data, (size_t)len);
        pem[len] = '\0';
    }
    BIO_free(bio);
    return pem;
}

int signing_key_make(signing_key *key, const char *public_key_file)
{
    int status = -1;
    char *public_pem = NULL;
    FILE *out = NULL;
    memset(key, 0, sizeof(*key));
    EVP_PKEY *pkey = EVP_RSA_gen(2048);
    if (!pkey || !(key->private_pem = pem_of(pkey, 1)) ||
        crm_jwt_thumbprint(key->private_pem, strlen(key->private_pem), key->kid,
                           sizeof(key->kid)) != 0)
        goto done;
    if (public_key_file) {
        if (!(public_pem = pem_of(pkey, 0)) || !(out = fopen(public_key_file, "w")) ||
            fputs(public_pem, out) < 0)
            goto done;
    }
    status = 0;
done:
    if (out)
        fclose(out);
    free(public_pem);
    EVP_PKEY_free(pkey);
    return status;
}

void signing_key_clean(signing_key *key)
{
    free(key->private_pem);
    memset(key, 0, sizeof(*key));
}

char *token_sign(const signing_key *key, const char *sub, const char *role, long ttl)
{
    char jti[CRM_UUID_LEN], *token = NULL;
    jwt_t *jwt = NULL;
    time_t now = time(NULL);
    crm_uuid_v4(jti);
    if (jwt_new(&jwt) != 0)
        return NULL;
    if (jwt_set_alg(jwt, JWT_ALG_RS256, (const unsigned char *)key->private_pem,
                    (int)strlen(key->private_pem)) == 0 &&
        jwt_add_header(jwt, "kid", key->kid) == 0 &&
        jwt_add_grant(jwt, "iss", CRM_JWT_ISSUER) == 0 &&
        jwt_add_grant(jwt, "aud", CRM_JWT_AUDIENCE) == 0 && jwt_add_grant(jwt, "sub", sub) == 0 &&
        jwt_add_grant(jwt, "username", sub) == 0 && jwt_add_grant(jwt, "role", role) == 0 &&
        jwt_add_grant(jwt, "jti", jti) == 0 &&
        jwt_add_grant_int(jwt, "iat", (long)(ttl < 0 ? now + ttl - 60 : now)) == 0 &&
        jwt_add_grant_int(jwt, "exp", (long)(now + ttl)) == 0)
        token = jwt_encode_str(jwt);
    jwt_free(jwt);
    return token;
}

/* ---- the test program ---- */

const char *harness_gateway_binary;
signing_key harness_key;
char harness_public_key_file[512];

int harness_key_setup(void)
{
    const char *dir = harness_workdir();
    if (!dir)
        return -1;
    snprintf(harness_public_key_file, sizeof(harness_public_key_file), "%s/jwt.pub", dir);
    return signing_key_make(&harness_key, harness_public_key_file);
}

void harness_key_clean(void)
{
    signing_key_clean(&harness_key);
}

void bearer_header(char *out, size_t len, const char *token)
{
    snprintf(out, len, "Authorization: Bearer %s", token ? token : "");
}

long harness_dead_port(void)
{
    /* Bound but never listening: connections are refused, and the port stays ours, so no other
     * test can bring it to life. Closed when the process exits. */
    struct sockaddr_in address = {.sin_family = AF_INET};
    socklen_t len = sizeof(address);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&address, sizeof(address)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&address, &len), 0);
    return ntohs(address.sin_port);
}

void harness_url_setting(char *out, size_t len, const char *name, long port_a, long port_b)
{
    if (port_b > 0)
        snprintf(out, len, "%s=http://127.0.0.1:%ld,http://127.0.0.1:%ld", name, port_a, port_b);
    else
        snprintf(out, len, "%s=http://127.0.0.1:%ld", name, port_a);
}

void get_as(reply *r, const gateway_process *gw, const char *path, const char *bearer)
{
    const char *const headers[] = {bearer, NULL};
    request_options options = {.headers = bearer ? headers : NULL};
    http_call(r, gw->port, "GET", path, &options);
}

int matches(const char *pattern, const char *text)
{
    regex_t re;
    ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    int rc = text ? regexec(&re, text, 0, NULL, 0) : 1;
    regfree(&re);
    return rc == 0;
}

void assert_clean_exit(gateway_process *gw)
{
    int status = gateway_process_stop(gw);
    if (status != 0)
        gateway_process_dump_log(gw);
    ck_assert_msg(status == 0, "%s: the gateway exited with %d", gw->log, status);
}

int harness_run(Suite *suite, int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s path/to/crm-gateway\n", argv[0]);
        return EXIT_FAILURE;
    }
    harness_gateway_binary = argv[1];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    atexit(gateway_process_kill_all);
    SRunner *runner = srunner_create(suite);
    srunner_set_fork_status(runner, CK_NOFORK);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    if (failed == 0)
        harness_workdir_remove();
    curl_global_cleanup();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
