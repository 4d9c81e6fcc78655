/* Signals for graceful shutdown (the glewlwyd way: sigwait in main instead of a handler). */
#include "crm/shutdown.h"

#include <pthread.h>
#include <signal.h>

static void stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
}

void crm_shutdown_block_signals(void)
{
    sigset_t set;
    stop_signals(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client that hangs up must not kill the process */
}

int crm_shutdown_wait(void)
{
    sigset_t set;
    int signal_number = 0;
    stop_signals(&set);
    while (sigwait(&set, &signal_number) != 0) {
    }
    return signal_number;
}
