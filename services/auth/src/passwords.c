/* Argon2id through libsodium, at most N hashes at a time (a counting semaphore). */
#include "passwords.h"

#include <semaphore.h>
#include <string.h>
#include <unistd.h>

static unsigned long long opslimit;
static size_t memlimit;
static sem_t slots;
static int slots_ready;
static char dummy_hash[PASSWORD_HASH_MAX];

int passwords_init(long memory_kib, long passes, long concurrency)
{
    if (sodium_init() < 0)
        return -1;
    opslimit = (unsigned long long)passes;
    memlimit = (size_t)memory_kib * 1024;
    if (concurrency <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        concurrency = cores > 0 ? cores : 1;
    }
    if (sem_init(&slots, 0, (unsigned int)concurrency) != 0)
        return -1;
    slots_ready = 1;
    return password_hash("not a password: the cost of checking an unknown user", dummy_hash);
}

void passwords_clean(void)
{
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
    slot_take();
    int ok = crypto_pwhash_str_verify(hash ? hash : dummy_hash, password, strlen(password)) == 0;
    sem_post(&slots);
    return hash ? ok : 0;
}

int password_needs_rehash(const char *hash)
{
    return crypto_pwhash_str_needs_rehash(hash, opslimit, memlimit) != 0;
}
