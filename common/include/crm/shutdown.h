/* Graceful shutdown: SIGTERM and SIGINT are blocked in every thread and taken by sigwait in
 * main, so shutdown runs as ordinary code rather than in a signal handler. */
#ifndef CRM_SHUTDOWN_H
#define CRM_SHUTDOWN_H

/* Blocks SIGTERM and SIGINT and ignores SIGPIPE. Call first in main, before any thread starts,
 * so every thread inherits the mask. */
void crm_shutdown_block_signals(void);

/* Waits for SIGTERM or SIGINT and returns its number. */
int crm_shutdown_wait(void);

#endif
