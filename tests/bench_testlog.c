/*
 * bench_testlog.c: how fast tlogwatch-testlog starts and serves.
 *
 *   bench_testlog [ENTRIES [SECONDS [CLIENTS]]]
 *
 * defaults: 1000000 entries, 10 seconds, 4 clients.  The test log binary
 * is $TLOGWATCH_TESTLOG, else ../bin/tlogwatch-testlog next to this
 * program's directory.  Prints
 *   - startup: seconds from spawn until the log serves (its --dir "url"
 *     marker), and the CPU seconds the build took (/proc/PID/stat);
 *   - retrieve throughput: CLIENTS threads, each with one keep-alive
 *     libcurl connection, POST /api/v1/log/entries/retrieve with the next
 *     10 indexes of a shared cursor (a catch-up's access pattern), for
 *     SECONDS; requests/s, entries/s, MB/s and the server's own counts.
 * The clients share the machine with the server (2 cores here), so the
 * figure is what a catch-up on this machine can get at most.  Never
 * fails: problems are printed and the exit status is 0.
 */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

extern char **environ;

#define MAX_CLIENTS 32

struct client {
    const char *url;
    atomic_ullong *cursor;
    unsigned long long size;
    double until;
    unsigned long long requests;
    unsigned long long entries;
    unsigned long long bytes;
    unsigned long long errors;
};

struct sink {
    char *p;
    size_t len;
    size_t cap;
};

static double
mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
    struct sink *s = arg;
    size_t len = sz * n;

    if (s->len + len + 1 > s->cap) {
        size_t ncap = (s->len + len + 1) * 2;
        char *np = realloc(s->p, ncap);

        if (np == NULL) {
            return 0;
        }
        s->p = np;
        s->cap = ncap;
    }
    memcpy(s->p + s->len, p, len);
    s->len += len;
    s->p[s->len] = '\0';
    return len;
}

static unsigned long long
count(const char *s, const char *needle)
{
    unsigned long long n = 0;

    while ((s = strstr(s, needle)) != NULL) {
        n++;
        s++;
    }
    return n;
}

static void *
client_run(void *arg)
{
    struct client *c = arg;
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = NULL;
    struct sink sink = {0};
    char url[256], post[256];

    if (h == NULL) {
        c->errors++;
        return NULL;
    }
    snprintf(url, sizeof(url), "%s/api/v1/log/entries/retrieve", c->url);
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    while (mono() < c->until) {
        unsigned long long first = atomic_fetch_add(c->cursor, 10) % c->size;
        long status = 0;
        int k, n = 0;

        n += snprintf(post + n, sizeof(post) - (size_t)n, "{\"logIndexes\":[");
        for (k = 0; k < 10; k++) {
            n += snprintf(post + n, sizeof(post) - (size_t)n, "%s%llu",
                          k > 0 ? "," : "", (first + (unsigned)k) % c->size);
        }
        snprintf(post + n, sizeof(post) - (size_t)n, "]}");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
        sink.len = 0;
        if (curl_easy_perform(h) != CURLE_OK) {
            c->errors++;
            continue;
        }
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200 || sink.p == NULL) {
            c->errors++;
            continue;
        }
        c->requests++;
        c->bytes += sink.len;
        c->entries += count(sink.p, "\"signedEntryTimestamp\"");
    }
    free(sink.p);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return NULL;
}

/* Whole file (also /proc files, whose size reads as 0).  New or NULL. */
static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (f == NULL) {
        return NULL;
    }
    do {
        if (len + 4096 + 1 > cap) {
            char *nb = realloc(buf, cap = len + 8192);

            if (nb == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, 4096, f);
        len += n;
    } while (n > 0);
    fclose(f);
    buf[len] = '\0';
    return buf;
}

/* CPU seconds (user + system) of a live process. */
static double
cpu_seconds(pid_t pid)
{
    char path[64], *st, *p;
    unsigned long ut = 0, stm = 0;
    int field;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    st = slurp(path);
    if (st == NULL) {
        return -1;
    }
    p = strrchr(st, ')'); /* after the command name */
    for (field = 2; p != NULL && field < 14; field++) {
        p = strchr(p + 1, ' ');
    }
    if (p != NULL) {
        sscanf(p + 1, "%lu %lu", &ut, &stm);
    }
    free(st);
    return (double)(ut + stm) / (double)sysconf(_SC_CLK_TCK);
}

static void
rm_dir(const char *dir)
{
    static const char *const names[] = {"trusted_root.json",
                                        "log.pub",
                                        "log.key",
                                        "wrong-key.pub",
                                        "wrong-key.key",
                                        "fulcio-root.pem",
                                        "fulcio-root.key",
                                        "fulcio-root.pub",
                                        "fulcio-intermediate.pem",
                                        "fulcio-intermediate.key",
                                        "fulcio-intermediate.pub",
                                        "fulcio-chain.pem",
                                        "impostor-chain.pem",
                                        "impostor-root.key",
                                        "impostor-root.pub",
                                        "impostor-intermediate.key",
                                        "impostor-intermediate.pub",
                                        "impostor-root.pem",
                                        "impostor-intermediate.pem",
                                        "testlog.json",
                                        "url",
                                        "stdout",
                                        NULL};
    char path[PATH_MAX];
    int i;

    for (i = 0; names[i] != NULL; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

int
main(int argc, char **argv)
{
    unsigned long long entries =
        argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000ULL;
    double seconds = argc > 2 ? atof(argv[2]) : 10.0;
    int nclients = argc > 3 ? atoi(argv[3]) : 4;
    const char *bin = getenv("TLOGWATCH_TESTLOG");
    char binbuf[PATH_MAX], self[PATH_MAX], dir[] = "/tmp/tlw-bench.XXXXXX";
    char entries_s[32], path[PATH_MAX + 32], *url = NULL;
    const char *args[12];
    struct client clients[MAX_CLIENTS];
    pthread_t tids[MAX_CLIENTS];
    posix_spawn_file_actions_t fa;
    atomic_ullong cursor = 0;
    unsigned long long req = 0, ent = 0, bytes = 0, err = 0;
    double t0, startup, build_cpu, t_start, el, cpu0, cpu1;
    pid_t pid;
    int i, st;

    if (nclients < 1 || nclients > MAX_CLIENTS) {
        nclients = 4;
    }
    if (entries == 0) {
        entries = 1;
    }
    if (bin == NULL) {
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

        if (n > 0) {
            self[n] = '\0';
            snprintf(binbuf, sizeof(binbuf), "%s/../bin/tlogwatch-testlog",
                     dirname(self));
            bin = binbuf;
        } else {
            bin = "tlogwatch-testlog";
        }
    }
    if (mkdtemp(dir) == NULL) {
        printf("bench_testlog: mkdtemp failed\n");
        return 0;
    }
    snprintf(entries_s, sizeof(entries_s), "%llu", entries);
    args[0] = bin;
    args[1] = "--dir";
    args[2] = dir;
    args[3] = "--entries";
    args[4] = entries_s;
    args[5] = "--listen";
    args[6] = "127.0.0.1:0";
    args[7] = NULL;
    snprintf(path, sizeof(path), "%s/stdout", dir);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, path, O_WRONLY | O_CREAT, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    t0 = mono();
    if (posix_spawn(&pid, bin, &fa, NULL, (char *const *)args, environ) != 0) {
        printf("bench_testlog: cannot start %s\n", bin);
        rm_dir(dir);
        return 0;
    }
    posix_spawn_file_actions_destroy(&fa);
    snprintf(path, sizeof(path), "%s/url", dir);
    while ((url = slurp(path)) == NULL || strchr(url, '\n') == NULL) {
        free(url);
        url = NULL;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            printf("bench_testlog: the test log exited during startup\n");
            rm_dir(dir);
            return 0;
        }
        usleep(20000);
    }
    startup = mono() - t0;
    build_cpu = cpu_seconds(pid);
    *strchr(url, '\n') = '\0';
    printf("startup: %llu entries in %.2f s (%.0f entries/s), build CPU "
           "%.2f s (user+sys, all threads)\n",
           entries, startup, (double)entries / startup, build_cpu);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    cpu0 = cpu_seconds(pid);
    t_start = mono();
    for (i = 0; i < nclients; i++) {
        memset(&clients[i], 0, sizeof(clients[i]));
        clients[i].url = url;
        clients[i].cursor = &cursor;
        clients[i].size = entries;
        clients[i].until = t_start + seconds;
        if (pthread_create(&tids[i], NULL, client_run, &clients[i]) != 0) {
            nclients = i;
            break;
        }
    }
    for (i = 0; i < nclients; i++) {
        pthread_join(tids[i], NULL);
        req += clients[i].requests;
        ent += clients[i].entries;
        bytes += clients[i].bytes;
        err += clients[i].errors;
    }
    el = mono() - t_start;
    cpu1 = cpu_seconds(pid);
    printf("retrieve: %d keep-alive clients, 10 indexes a request, %.1f s: "
           "%.0f requests/s, %.0f entries/s, %.1f MB/s, %llu errors; server "
           "CPU %.2f s (%.0f%% of one core, %.1f us an entry)\n",
           nclients, el, (double)req / el, (double)ent / el,
           (double)bytes / el / 1e6, err, cpu1 - cpu0,
           100.0 * (cpu1 - cpu0) / el,
           ent > 0 ? (cpu1 - cpu0) * 1e6 / (double)ent : 0.0);
    {
        CURL *h = curl_easy_init();
        struct sink s = {0};
        char su[300];

        snprintf(su, sizeof(su), "%s/admin/stats", url);
        if (h != NULL) {
            curl_easy_setopt(h, CURLOPT_URL, su);
            curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
            curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
            if (curl_easy_perform(h) == CURLE_OK && s.p != NULL) {
                printf("server stats: %s", s.p);
            }
            curl_easy_cleanup(h);
        }
        free(s.p);
    }
    curl_global_cleanup();
    kill(pid, SIGTERM);
    waitpid(pid, &st, 0);
    free(url);
    rm_dir(dir);
    return 0;
}
