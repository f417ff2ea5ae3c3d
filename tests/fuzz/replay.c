/*
 * replay.c: a stand-in for libFuzzer's main() so every fuzz target also runs
 * in the ordinary test suite (and under ASan/UBSan in CI).
 *
 * Usage: fuzz_x PATH...   Every regular file under each PATH (recursively,
 * at most REPLAY_MAX_FILE bytes) is fed to LLVMFuzzerTestOneInput as is, then
 * REPLAY_MUTATIONS times with deterministic mutations (truncation, byte flips,
 * insertions of interesting bytes), so the run is repeatable.  A missing PATH
 * is skipped, so a target may name an optional corpus directory.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPLAY_MAX_FILE (256 * 1024)
#define REPLAY_MUTATIONS 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long replay_runs;

static uint64_t
replay_rand(uint64_t *s)
{
    /* splitmix64: deterministic, seeded per file */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void
replay_buffer(const uint8_t *data, size_t len)
{
    static const uint8_t interesting[] = {0x00, 0x0a, 0x22, 0x2d, 0x30, 0x3d,
                                          0x5c, 0x7b, 0x7d, 0x80, 0xe2, 0xff};
    uint8_t *buf;
    uint64_t seed = len * 2654435761u + 1;
    int m;

    /* Copy so that reading past the end is caught by ASan. */
    buf = malloc(len ? len : 1);
    if (buf == NULL) {
        abort();
    }
    memcpy(buf, data, len);
    LLVMFuzzerTestOneInput(buf, len);
    replay_runs++;
    free(buf);

    for (m = 0; m < REPLAY_MUTATIONS && len > 0; m++) {
        size_t n = len, i, k;
        buf = malloc(len + 1);
        if (buf == NULL) {
            abort();
        }
        memcpy(buf, data, len);
        switch (replay_rand(&seed) % 4) {
        case 0: /* truncate */
            n = replay_rand(&seed) % len;
            break;
        case 1: /* flip bytes */
            for (k = 0; k < 1 + replay_rand(&seed) % 4; k++) {
                i = replay_rand(&seed) % len;
                buf[i] ^= (uint8_t)(1u << (replay_rand(&seed) % 8));
            }
            break;
        case 2: /* overwrite with an interesting byte */
            i = replay_rand(&seed) % len;
            buf[i] = interesting[replay_rand(&seed) % sizeof(interesting)];
            break;
        default: /* insert a byte */
            i = replay_rand(&seed) % len;
            memmove(buf + i + 1, buf + i, len - i);
            buf[i] = interesting[replay_rand(&seed) % sizeof(interesting)];
            n = len + 1;
            break;
        }
        LLVMFuzzerTestOneInput(buf, n);
        replay_runs++;
        free(buf);
    }
}

static void
replay_path(const char *path)
{
    struct stat st;
    FILE *f;
    uint8_t *data;
    size_t n;

    if (stat(path, &st) != 0) {
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        if (d == NULL) {
            return;
        }
        while ((de = readdir(d)) != NULL) {
            char sub[4096];
            if (de->d_name[0] == '.') {
                continue;
            }
            if (snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >=
                (int)sizeof(sub)) {
                continue;
            }
            replay_path(sub);
        }
        closedir(d);
        return;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > REPLAY_MAX_FILE) {
        return;
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        return;
    }
    data = malloc((size_t)st.st_size + 1);
    if (data == NULL) {
        abort();
    }
    n = fread(data, 1, (size_t)st.st_size, f);
    fclose(f);
    replay_buffer(data, n);
    free(data);
}

int
main(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        replay_path(argv[i]);
    }
    printf("%s: %lu inputs replayed without a crash\n", argv[0], replay_runs);
    return 0;
}
