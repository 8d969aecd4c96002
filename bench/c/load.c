/* The benchmark's load generator: one single-threaded C epoll client, cheap enough per
 * message to outrun the servers it measures (the runner reports both processes' CPU use).
 *
 *   load -p port [-m pingpong|bulk|connect] [-c conns] [-s size] [-i idle]
 *        [-d seconds] [-w warmup-seconds] [-W bulk-window-bytes] [-P server-pid] [-R]
 *
 * pingpong  each of `conns` connections sends a `size`-byte message (lines of 64 bytes, each
 *           ending in '\n', so a line-based server echoes it too) and waits for the whole echo
 *           before sending the next; counts round trips.
 * bulk      each connection streams 64 KiB writes, keeping at most `window` bytes in flight,
 *           and reads the echo back; counts echoed bytes.
 * connect   `conns` slots, each: connect, send one message, read its echo, close, again;
 *           counts completed connections. With -R each close is abortive (SO_LINGER 0: RST),
 *           so no TIME_WAIT sockets pile up: 60 s of them at >10k connections/s fill the
 *           ephemeral port range, make connect() search it, and make the result depend on
 *           which rows ran before.
 * -i N      before measuring, opens N idle connections (in waves; each proves the server
 *           accepted it with a 1-byte echo) and keeps them open and silent throughout.
 *
 * -P PID    also reports the CPU share the server process used while measuring (from
 *           /proc/PID/stat; server_user is its user-space part), next to this client's own, so
 *           a row that is not server-bound shows it.
 *
 * Counts only after the warm-up. Prints one JSON object on stdout; exit status 0 when at least
 * one operation completed and no error occurred.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { PINGPONG, BULK, CONNECT };
#define CHUNK 65536
#define HIST 100000 /* latency histogram: 1 us buckets up to 100 ms */

typedef struct {
    int fd;
    int connected;
    size_t sent, recvd;     /* pingpong/connect: bytes of the current message */
    uint64_t out, in;       /* bulk: totals */
    uint64_t t0;            /* send time of the current message */
    uint32_t interest;
} conn_t;

static struct sockaddr_in addr;
static int epfd, mode = PINGPONG, rst;
static size_t size = 64, window = 4u << 20;
static char *msg, rbuf[CHUNK];
static uint64_t ops, bytes, errors;
static uint32_t hist[HIST + 1];
static int counting;
static const char *first_error = "";

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CPU seconds (user + system) used so far by process `pid`, or by this process when 0;
 * `user` gets the user-space part. */
static double cpu_seconds(int pid, double *user) {
    if (!pid) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        if (user) *user = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
        return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    }
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p) return -1;
    unsigned long ut = 0, st = 0;
    /* after ')': state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
    if (user) *user = (double)ut / (double)sysconf(_SC_CLK_TCK);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void fail(const char *what) {
    if (!errors) first_error = what;
    errors++;
}

static int new_socket(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

static void set_interest(conn_t *c, uint32_t events) {
    if (c->interest == events) return;
    struct epoll_event ev = { .events = events, .data.ptr = c };
    epoll_ctl(epfd, c->interest ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev);
    c->interest = events;
}

/* Opens `n` connections that stay idle; each one's 1-byte echo proves the server holds it. */
static int *open_idle(int n) {
    int *fds = calloc((size_t)(n ? n : 1), sizeof *fds);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event evs[256];
    for (int base = 0; base < n; base += 256) {
        int wave = n - base < 256 ? n - base : 256, left = wave;
        for (int i = base; i < base + wave; i++) {
            fds[i] = new_socket();
            if (fds[i] < 0) {
                fprintf(stderr, "load: idle connection %d: %s\n", i, strerror(errno));
                exit(1);
            }
            struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = (uint32_t)i };
            epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
        }
        uint64_t deadline = now_ns() + 60ull * 1000000000ull;
        while (left > 0) {
            if (now_ns() > deadline) {
                fprintf(stderr, "load: the server did not accept idle connections %d..%d within 60 s\n", base, base + wave - 1);
                exit(1);
            }
            int k = epoll_wait(ep, evs, 256, 100);
            for (int j = 0; j < k; j++) {
                int i = (int)evs[j].data.u32, fd = fds[i];
                if (evs[j].events & EPOLLOUT) {
                    if (send(fd, "x", 1, MSG_NOSIGNAL) != 1) {
                        fprintf(stderr, "load: idle connection %d failed: %s\n", i, strerror(errno));
                        exit(1);
                    }
                    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
                    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
                } else if (evs[j].events & EPOLLIN) {
                    char b;
                    if (recv(fd, &b, 1, 0) != 1) {
                        fprintf(stderr, "load: idle connection %d closed by the server\n", i);
                        exit(1);
                    }
                    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                    left--;
                }
            }
        }
    }
    close(ep);
    return fds;
}

/* Sends the rest of the current message; 1 if it is all out, 0 if the socket is full, -1 on error. */
static int send_msg(conn_t *c) {
    if (c->sent == 0 && counting) c->t0 = now_ns();
    while (c->sent < size) {
        ssize_t k = send(c->fd, msg + c->sent, size - c->sent, MSG_NOSIGNAL);
        if (k < 0) return errno == EAGAIN ? 0 : -1;
        c->sent += (size_t)k;
    }
    return 1;
}

static void record(conn_t *c) {
    if (!counting) return;
    ops++;
    uint64_t us = (now_ns() - c->t0) / 1000;
    hist[us < HIST ? us : HIST]++;
}

static int open_conn(conn_t *c) {
    memset(c, 0, sizeof *c);
    c->fd = new_socket();
    if (c->fd < 0) { fail("connect"); return -1; }
    set_interest(c, EPOLLOUT);
    return 0;
}

static void reopen(conn_t *c, const char *why) {
    fail(why);
    close(c->fd);
    open_conn(c);
}

static void on_pingpong(conn_t *c, uint32_t e) {
    if (e & EPOLLIN) {
        ssize_t k = recv(c->fd, rbuf, size - c->recvd, 0);
        if (k == 0) { reopen(c, "server closed a connection"); return; }
        if (k < 0) {
            if (errno != EAGAIN) reopen(c, "recv failed");
            return;
        }
        c->recvd += (size_t)k;
        if (c->recvd < size) return;
        record(c);
        c->sent = c->recvd = 0;
    } else if (!(e & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        return;
    }
    if (c->sent < size) {
        int r = send_msg(c);
        if (r < 0) { reopen(c, "send failed"); return; }
        set_interest(c, r ? EPOLLIN : EPOLLOUT);
    }
}

static void on_connect_mode(conn_t *c, uint32_t e) {
    if (e & EPOLLIN) {
        ssize_t k = recv(c->fd, rbuf, size - c->recvd, 0);
        if (k <= 0) {
            if (k < 0 && errno == EAGAIN) return;
            reopen(c, k == 0 ? "server closed a connection before echoing" : "recv failed");
            return;
        }
        c->recvd += (size_t)k;
        if (c->recvd < size) return;
        record(c);
        if (rst) {
            struct linger lg = { .l_onoff = 1, .l_linger = 0 };
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        close(c->fd); /* also leaves the epoll set */
        open_conn(c);
        return;
    }
    if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
        int r = send_msg(c);
        if (r < 0) { reopen(c, "connect or send failed"); return; }
        set_interest(c, r ? EPOLLIN : EPOLLOUT);
    }
}

static void bulk_pump(conn_t *c) {
    int blocked = 0;
    while (c->out - c->in < window) {
        size_t off = (size_t)(c->out % CHUNK);
        ssize_t k = send(c->fd, msg + off, CHUNK - off, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EAGAIN) { blocked = 1; break; }
            reopen(c, "send failed");
            return;
        }
        c->out += (uint64_t)k;
    }
    set_interest(c, EPOLLIN | (blocked ? EPOLLOUT : 0));
}

static void on_bulk(conn_t *c, uint32_t e) {
    if (e & EPOLLIN) {
        ssize_t k = recv(c->fd, rbuf, sizeof rbuf, 0);
        if (k == 0) { reopen(c, "server closed a connection"); return; }
        if (k < 0) {
            if (errno != EAGAIN) reopen(c, "recv failed");
            return;
        }
        c->in += (uint64_t)k;
        if (counting) bytes += (uint64_t)k;
    }
    bulk_pump(c);
}

int main(int argc, char **argv) {
    int port = 0, nconns = 50, nidle = 0, server_pid = 0, opt;
    double secs = 3, warm = 1;
    while ((opt = getopt(argc, argv, "p:m:c:s:i:d:w:W:P:R")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'm': mode = !strcmp(optarg, "bulk") ? BULK : !strcmp(optarg, "connect") ? CONNECT : PINGPONG; break;
        case 'c': nconns = atoi(optarg); break;
        case 's': size = (size_t)atol(optarg); break;
        case 'i': nidle = atoi(optarg); break;
        case 'd': secs = atof(optarg); break;
        case 'w': warm = atof(optarg); break;
        case 'W': window = (size_t)atol(optarg); break;
        case 'P': server_pid = atoi(optarg); break;
        case 'R': rst = 1; break;
        default:
            fprintf(stderr, "usage: load -p port [-m pingpong|bulk|connect] [-c conns] [-s size] [-i idle] [-d secs] [-w warmup] [-W window] [-P server-pid] [-R]\n");
            return 2;
        }
    }
    if (!port || nconns < 1 || size < 1 || size > CHUNK) { fprintf(stderr, "load: bad arguments\n"); return 2; }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);

    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    msg = malloc(CHUNK);
    for (size_t i = 0; i < CHUNK; i++) msg[i] = (i + 1) % 64 == 0 ? '\n' : (char)('a' + i % 26);
    if (size % 64 != 0) msg[size - 1] = '\n';

    int *idle = open_idle(nidle);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    conn_t *cs = calloc((size_t)nconns, sizeof *cs);
    for (int i = 0; i < nconns; i++) {
        if (open_conn(&cs[i]) < 0) { fprintf(stderr, "load: connect: %s\n", strerror(errno)); return 1; }
    }
    struct epoll_event evs[1024];
    uint64_t t = now_ns(), warm_end = t + (uint64_t)(warm * 1e9), end = warm_end + (uint64_t)(secs * 1e9);
    uint64_t start = t;
    double scpu0 = 0, ccpu0 = 0, suser0 = 0, suser1 = 0;
    while (t < end) {
        int n = epoll_wait(epfd, evs, 1024, 10);
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (mode == PINGPONG) on_pingpong(c, evs[i].events);
            else if (mode == CONNECT) on_connect_mode(c, evs[i].events);
            else on_bulk(c, evs[i].events);
        }
        t = now_ns();
        if (!counting && t >= warm_end) {
            counting = 1;
            start = t;
            scpu0 = server_pid ? cpu_seconds(server_pid, &suser0) : 0;
            ccpu0 = cpu_seconds(0, NULL);
            errors = 0;
            first_error = "";
        }
    }
    double el = (double)(t - start) / 1e9;
    double scpu = server_pid && scpu0 >= 0 ? (cpu_seconds(server_pid, &suser1) - scpu0) / el : -1;
    double suser = server_pid && scpu0 >= 0 ? (suser1 - suser0) / el : -1;
    double ccpu = (cpu_seconds(0, NULL) - ccpu0) / el;
    uint64_t p50 = 0, p99 = 0, seen = 0;
    for (uint64_t us = 0; us <= HIST && ops; us++) {
        seen += hist[us];
        if (!p50 && seen * 2 >= ops) p50 = us ? us : 1;
        if (seen * 100 >= ops * 99) { p99 = us ? us : 1; break; }
    }
    if (mode == BULK) ops = bytes / CHUNK;
    printf("{\"mode\":\"%s\",\"conns\":%d,\"idle\":%d,\"size\":%zu,\"secs\":%.3f,\"ops\":%llu,\"rate\":%.1f,"
           "\"bytes\":%llu,\"mbps\":%.2f,\"p50_us\":%llu,\"p99_us\":%llu,\"server_cpu\":%.3f,\"server_user\":%.3f,\"client_cpu\":%.3f,"
           "\"errors\":%llu,\"error\":\"%s\"}\n",
           mode == BULK ? "bulk" : mode == CONNECT ? "connect" : "pingpong", nconns, nidle, size, el,
           (unsigned long long)ops, el > 0 ? (double)ops / el : 0.0, (unsigned long long)bytes,
           el > 0 ? (double)bytes / el / 1e6 : 0.0, (unsigned long long)p50, (unsigned long long)p99,
           scpu, suser, ccpu, (unsigned long long)errors, first_error);
    free(idle);
    return (ops > 0 || bytes > 0) && errors == 0 ? 0 : 1;
}
