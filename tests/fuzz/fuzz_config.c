/*
 * fuzz_config.c: libFuzzer target for the config loader (config_load_mem):
 * YAML/JSON syntax, the tree limits, and every validator.  Checks the
 * loader's contract: exactly one of (config, errors) comes back, and every
 * error formats.  Secrets are not exercised here beyond ${NAME} lookups of
 * whatever environment the run has.
 */
#include <stdint.h>
#include <stdlib.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config_errors *errs = NULL;
    struct config *cfg;
    char line[512];
    size_t i;

    cfg = config_load_mem(data, size, "fuzz.yaml", &errs);
    if ((cfg == NULL) == (errs == NULL)) {
        abort(); /* contract: a config or a non-empty error list */
    }
    if (errs != NULL) {
        if (errs->n == 0) {
            abort();
        }
        for (i = 0; i < errs->n; i++) {
            (void)config_error_format(&errs->v[i], line, sizeof(line));
        }
    }
    config_free(cfg);
    config_errors_free(errs);
    return 0;
}
