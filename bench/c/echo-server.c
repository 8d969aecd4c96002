/* The benchmark's reference row: a plain single-threaded C epoll echo server.
 *
 *   echo-server [-p port] [-b backlog]
 *
 * Level-triggered epoll, accept4, one recv per readiness event and an immediate send of what
 * was read: the same system calls a Python-style asyncore pass makes, with nothing around
 * them. Whatever send() does not take is kept and written on EPOLLOUT (reading that
 * connection pauses meanwhile), so nothing is dropped under bulk load.
 * Prints "PORT <n>" once listening on 127.0.0.1; exits on SIGTERM/SIGINT.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    char *pending; /* unsent tail of the last echo, or NULL */
    size_t len, off;
} conn_t;

static conn_t *conns;
static size_t nconns;
static volatile sig_atomic_t stop;

static void on_signal(int sig) { (void)sig; stop = 1; }

static conn_t *conn_for(int fd) {
    if ((size_t)fd >= nconns) {
        size_t n = nconns ? nconns : 1024;
        while (n <= (size_t)fd) n *= 2;
        conns = realloc(conns, n * sizeof *conns);
        if (!conns) { perror("realloc"); exit(1); }
        memset(conns + nconns, 0, (n - nconns) * sizeof *conns);
        nconns = n;
    }
    return &conns[fd];
}

static void drop(int epfd, int fd) {
    conn_t *c = conn_for(fd);
    free(c->pending);
    c->pending = NULL;
    epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
}

int main(int argc, char **argv) {
    int port = 0, backlog = 1024, opt;
    while ((opt = getopt(argc, argv, "p:b:")) != -1) {
        if (opt == 'p') port = atoi(optarg);
        else if (opt == 'b') backlog = atoi(optarg);
        else { fprintf(stderr, "usage: echo-server [-p port] [-b backlog]\n"); return 2; }
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&sin, sizeof sin) < 0) { perror("bind"); return 1; }
    if (listen(lfd, backlog) < 0) { perror("listen"); return 1; }
    socklen_t slen = sizeof sin;
    getsockname(lfd, (struct sockaddr *)&sin, &slen);
    printf("PORT %d\n", ntohs(sin.sin_port));
    fflush(stdout);

    int epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd };
    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);

    static char buf[65536];
    struct epoll_event evs[512];
    while (!stop) {
        int n = epoll_wait(epfd, evs, 512, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            uint32_t e = evs[i].events;
            if (fd == lfd) {
                for (;;) {
                    int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (cfd < 0) {
                        if (errno == EMFILE || errno == ENFILE) fprintf(stderr, "accept4: %s\n", strerror(errno));
                        break;
                    }
                    conn_for(cfd);
                    struct epoll_event cev = { .events = EPOLLIN, .data.fd = cfd };
                    epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &cev);
                }
                continue;
            }
            conn_t *c = conn_for(fd);
            if (c->pending) {
                if (!(e & (EPOLLOUT | EPOLLERR | EPOLLHUP))) continue;
                ssize_t k = send(fd, c->pending + c->off, c->len - c->off, MSG_NOSIGNAL);
                if (k < 0) {
                    if (errno == EAGAIN || errno == EINTR) continue;
                    drop(epfd, fd);
                    continue;
                }
                c->off += (size_t)k;
                if (c->off == c->len) {
                    free(c->pending);
                    c->pending = NULL;
                    struct epoll_event cev = { .events = EPOLLIN, .data.fd = fd };
                    epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &cev);
                }
                continue;
            }
            ssize_t r = recv(fd, buf, sizeof buf, 0);
            if (r == 0) { drop(epfd, fd); continue; }
            if (r < 0) {
                if (errno == EAGAIN || errno == EINTR) continue;
                drop(epfd, fd);
                continue;
            }
            ssize_t k = send(fd, buf, (size_t)r, MSG_NOSIGNAL);
            if (k < 0) {
                if (errno != EAGAIN && errno != EINTR) { drop(epfd, fd); continue; }
                k = 0;
            }
            if (k < r) {
                c->len = (size_t)(r - k);
                c->off = 0;
                c->pending = malloc(c->len);
                memcpy(c->pending, buf + k, c->len);
                struct epoll_event cev = { .events = EPOLLOUT, .data.fd = fd };
                epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &cev);
            }
        }
    }
    return 0;
}
