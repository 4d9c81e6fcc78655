/* crm-bench-ready: how long an executable takes from exec to its first 200 on /readyz, for
 * `make bench`. Starts COMMAND, polls http://127.0.0.1:PORT/readyz every 2 ms with a plain socket
 * (no client library start-up in the measured path), prints "ready_ms X", then stops the command
 * with SIGTERM (SIGKILL after 3 s) and waits for it. Exit status 1 when it is not ready within
 * TIMEOUT_MS.
 *
 *   crm-bench-ready PORT TIMEOUT_MS COMMAND [ARG...] */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* 1 when GET /readyz answers 200, 0 otherwise (not listening yet, 503, anything else). */
static int ready(int port)
{
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    static const char request[] = "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                  "Connection: close\r\n\r\n";
    char answer[32] = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok = 0;
    struct timeval timeout = {.tv_sec = 1};
    if (fd < 0)
        return 0;
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    if (connect(fd, (struct sockaddr *)&address, sizeof(address)) == 0 &&
        write(fd, request, sizeof(request) - 1) == (ssize_t)(sizeof(request) - 1)) {
        size_t got = 0;
        ssize_t n;
        while (got < 12 && (n = read(fd, answer + got, 12 - got)) > 0)
            got += (size_t)n;
        ok = got >= 12 && strncmp(answer, "HTTP/1.1 200", 12) == 0;
    }
    close(fd);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: crm-bench-ready PORT TIMEOUT_MS COMMAND [ARG...]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    double timeout = atof(argv[2]);
    double started = now_ms();
    pid_t child = fork();
    if (child < 0)
        return 1;
    if (child == 0) {
        execvp(argv[3], argv + 3);
        fprintf(stderr, "cannot run %s: %s\n", argv[3], strerror(errno));
        _exit(127);
    }
    int status = 1, exited = 0, wstatus;
    while (now_ms() - started < timeout) {
        if (ready(port)) {
            printf("ready_ms %.1f\n", now_ms() - started);
            status = 0;
            break;
        }
        if (waitpid(child, &wstatus, WNOHANG) == child) {
            exited = 1;
            break;
        }
        usleep(2000);
    }
    if (status != 0)
        printf("ready_ms none\n");
    if (!exited) { /* SIGTERM, and SIGKILL if it is still draining after 3 s */
        kill(child, SIGTERM);
        double stop_by = now_ms() + 3000;
        while (waitpid(child, &wstatus, WNOHANG) != child) {
            if (now_ms() > stop_by) {
                kill(child, SIGKILL);
                waitpid(child, &wstatus, 0);
                break;
            }
            usleep(10000);
        }
    }
    return status;
}
