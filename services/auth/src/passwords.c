/* Argon2id through libsodium, at most N hashes at a time (a counting semaphore). */
#include "passwords.h"

#include <pthread.h>
#include <semaphore.h>
#include <string.h>
#include <unistd.h>

static unsigned long long opslimit;
static size_t memlimit;
static sem_t slots;
static int slots_ready;
static char dummy_hash[PASSWORD_HASH_MAX];

/* The dummy hash is made on a thread of its own: it costs a whole Argon2 hash, which delayed
 * readiness by most of auth's start-up (make bench). The first unknown user waits for it. */
static const char dummy_password[] = "not a password: the cost of checking an unknown user";
static pthread_t dummy_thread;
static int dummy_started;
static int dummy_state; /* 0 being made, 1 made, -1 failed; under dummy_lock */
static pthread_mutex_t dummy_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dummy_made = PTHREAD_COND_INITIALIZER;

static void *dummy_make(void *unused)
{
    (void)unused;
    int rc = password_hash(dummy_password, dummy_hash);
    pthread_mutex_lock(&dummy_lock);
    dummy_state = rc == 0 ? 1 : -1;
    pthread_cond_broadcast(&dummy_made);
    pthread_mutex_unlock(&dummy_lock);
    return NULL;
}

/* The dummy hash once made, or NULL if making it failed. */
static const char *dummy_wait(void)
{
    pthread_mutex_lock(&dummy_lock);
    while (dummy_state == 0)
        pthread_cond_wait(&dummy_made, &dummy_lock);
    int made = dummy_state == 1;
    pthread_mutex_unlock(&dummy_lock);
    return made ? dummy_hash : NULL;
}

int passwords_init(long memory_kib, long passes, long concurrency)
{
    if (sodium_init() < 0)
        return -1;
    opslimit = (unsigned long long)passes;
    memlimit = (size_t)memory_kib * 1024;
    if (concurrency <= 0) {
        /* One core is left to everything else: with one hash per core a login storm took every
         * core, and the other routes' p99 rose 3.4 times (make bench, 2 cores). */
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        concurrency = cores > 1 ? cores - 1 : 1;
    }
    if (sem_init(&slots, 0, (unsigned int)concurrency) != 0)
        return -1;
    slots_ready = 1;
    dummy_state = 0;
    if (pthread_create(&dummy_thread, NULL, dummy_make, NULL) != 0)
        return -1;
    dummy_started = 1;
    return 0;
}

void passwords_clean(void)
{
    if (dummy_started)
        pthread_join(dummy_thread, NULL);
    dummy_started = 0;
    if (slots_ready)
        sem_destroy(&slots);
    slots_ready = 0;
}

/* The semaphore bounds memory (each hash holds memlimit) and keeps workers for other routes. */
static void slot_take(void)
{
    while (sem_wait(&slots) != 0) {
    }
}

int password_hash(const char *password, char out[PASSWORD_HASH_MAX])
{
    slot_take();
    int rc = crypto_pwhash_str(out, password, strlen(password), opslimit, memlimit);
    sem_post(&slots);
    return rc == 0 ? 0 : -1;
}

int password_verify(const char *hash, const char *password)
{
    const char *against = hash ? hash : dummy_wait();
    char spent[PASSWORD_HASH_MAX];
    if (!against) { /* no dummy hash: a fresh hash costs the unknown user the same time */
        password_hash(password, spent);
        return 0;
    }
    slot_take();
    int ok = crypto_pwhash_str_verify(against, password, strlen(password)) == 0;
    sem_post(&slots);
    return hash ? ok : 0;
}

int password_needs_rehash(const char *hash)
{
    return crypto_pwhash_str_needs_rehash(hash, opslimit, memlimit) != 0;
}
