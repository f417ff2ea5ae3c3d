/*
 * fuzz_trusted_root.c: libFuzzer target for the trusted_root.json loader
 * (config/trusted_root.c, from memory).  Whatever loads is walked: every
 * log is found again by its id and its key hint, every CA chain is
 * counted, and a failed load must leave a "name: " error message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/trusted_root.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_logs(const struct config_trusted_root *r)
{
    size_t i;

    for (i = 0; i < config_trusted_root_ntlogs(r); i++) {
        const struct config_log_key *k = config_trusted_root_tlog(r, i);

        if (k == NULL || k->signer_name == NULL || k->base_url == NULL ||
            config_trusted_root_find_tlog(r, k->log_id) == NULL ||
            config_trusted_root_find_tlog_hint(r, k->key_hint, NULL) == NULL ||
            config_trusted_root_find_tlog_hint(r, k->key_hint,
                                               k->signer_name) == NULL) {
            abort();
        }
        if ((k->alg == CONFIG_KEY_UNSUPPORTED) != (k->pkey == NULL)) {
            abort();
        }
    }
    for (i = 0; i < config_trusted_root_nctlogs(r); i++) {
        if (config_trusted_root_ctlog(r, i) == NULL) {
            abort();
        }
    }
}

static void
fuzz_cas(const struct config_trusted_root *r)
{
    size_t i, n = config_trusted_root_ncas(r) + config_trusted_root_ntsas(r);

    for (i = 0; i < n; i++) {
        const struct config_ca *ca =
            i < config_trusted_root_ncas(r)
                ? config_trusted_root_ca(r, i)
                : config_trusted_root_tsa(r, i - config_trusted_root_ncas(r));
        int k = ca != NULL ? sk_X509_num(ca->chain) : -1;

        if (k < 1 || k > CONFIG_TRUSTED_ROOT_MAX_CHAIN) {
            abort();
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[CONFIG_TRUSTED_ROOT_ERR_LEN];
    struct config_trusted_root *r;

    r = config_trusted_root_load_mem((const char *)data, size, "fuzz", err,
                                     sizeof(err));
    if (r == NULL) {
        if (strncmp(err, "fuzz: ", 6) != 0) {
            abort();
        }
        return 0;
    }
    fuzz_logs(r);
    fuzz_cas(r);
    config_trusted_root_free(r);
    return 0;
}
