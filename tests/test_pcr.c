/*
 * test_pcr.c: the PCR policy (monitor/registry/pcr.h) over the real nitro-cli
 * measurements of $TLOGWATCH_TESTDATA/nitro/nitro-cli-pcrs.json, read at
 * run time: the signed hello-world EIF (PCR0/1/2/8) and the sample image
 * built for x86_64 and aarch64 (PCR0/1/2).  Changed sets are made here by
 * flipping one digit of a real value; each positive case has its
 * negative twin.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>

#include "config/config.h"
#include "monitor/registry/pcr.h"

struct fixture {
    json_t *root;
    struct config_pcr_set signed_eif; /* PCR0/1/2/8 */
    struct config_pcr_set x86;        /* PCR0/1/2 */
    struct config_pcr_set arm;        /* PCR0/1/2 */
};

static const char *
get_pcr(json_t *m, const char *name)
{
    const char *v = json_string_value(json_object_get(m, name));

    assert_non_null(v);
    assert_int_equal(strlen(v), CONFIG_PCR_HEX_LEN);
    return v;
}

static void
load_set(json_t *m, struct config_pcr_set *out, int with8)
{
    assert_non_null(m);
    assert_int_equal(pcr_set_from_hex(out, get_pcr(m, "PCR0"),
                                      get_pcr(m, "PCR1"), get_pcr(m, "PCR2"),
                                      with8 ? get_pcr(m, "PCR8") : NULL),
                     0);
}

static int
setup(void **state)
{
    const char *td = getenv("TLOGWATCH_TESTDATA");
    struct fixture *f = calloc(1, sizeof(*f));
    char path[4096];
    json_error_t err;
    json_t *sample;

    assert_non_null(td);
    assert_non_null(f);
    snprintf(path, sizeof(path), "%s/nitro/nitro-cli-pcrs.json", td);
    f->root = json_load_file(path, 0, &err);
    assert_non_null(f->root);
    load_set(json_object_get(
                 json_object_get(
                     json_object_get(f->root, "buildEnclaveSignedHelloWorld"),
                     "stdoutJson"),
                 "Measurements"),
             &f->signed_eif, 1);
    sample = json_object_get(f->root, "expectedPcrsForSampleImage");
    load_set(json_object_get(sample, "x86_64"), &f->x86, 0);
    load_set(json_object_get(sample, "aarch64"), &f->arm, 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    json_decref(f->root);
    free(f);
    return 0;
}

static void
policy_of(struct config_pcrs *p, struct config_pcr_set *sets, size_t n)
{
    memset(p, 0, sizeof(*p));
    p->enabled = 1;
    p->allow = sets;
    p->n_allow = n;
}

/* Change one hex digit of one PCR. */
static void
flip(struct config_pcr_set *s, enum config_pcr which, size_t at)
{
    s->hex[which][at] = s->hex[which][at] == '0' ? '1' : '0';
}

static void
test_names(void **state)
{
    (void)state;
    assert_string_equal(pcr_name(CONFIG_PCR0), "PCR0");
    assert_string_equal(pcr_name(CONFIG_PCR8), "PCR8");
    assert_string_equal(pcr_meaning(CONFIG_PCR0), "image");
    assert_string_equal(pcr_meaning(CONFIG_PCR1), "kernel and bootstrap");
    assert_string_equal(pcr_meaning(CONFIG_PCR2), "application");
    assert_string_equal(pcr_meaning(CONFIG_PCR8), "signing certificate");
    assert_null(pcr_name(CONFIG_PCR_COUNT));
    assert_null(pcr_meaning(CONFIG_PCR_COUNT));
}

/* A real set is allowed by a list holding it. */
static void
test_allowed(void **state)
{
    struct fixture *f = *state;
    struct config_pcr_set allow[2] = {f->arm, f->x86};
    struct config_pcrs p;
    struct pcr_result r;

    policy_of(&p, allow, 2);
    assert_int_equal(pcr_check(&p, &f->x86, &r), 0);
    assert_int_equal(r.verdict, PCR_ALLOWED);
    assert_int_equal(r.closest, 1);
    assert_int_equal(r.differ, 0);
    assert_int_equal(r.nreasons, 0);
}

/* Twin: a set made for another architecture is not. */
static void
test_other_arch_unknown(void **state)
{
    struct fixture *f = *state;
    struct config_pcrs p;
    struct pcr_result r;

    policy_of(&p, &f->arm, 1);
    assert_int_equal(pcr_check(&p, &f->x86, &r), 0);
    assert_int_equal(r.verdict, PCR_UNKNOWN);
    assert_int_equal(r.differ, (1u << CONFIG_PCR0) | (1u << CONFIG_PCR1) |
                                   (1u << CONFIG_PCR2));
    assert_int_equal(r.nreasons, 3);
    assert_non_null(strstr(r.reasons[0], "PCR0 (image)"));
    assert_non_null(strstr(r.reasons[1], "PCR1 (kernel and bootstrap)"));
    assert_non_null(strstr(r.reasons[2], "PCR2 (application)"));
}

/* A changed PCR2 is named, with the closest set's value, and nothing
 * else is. */
static void
test_changed_pcr2(void **state)
{
    struct fixture *f = *state;
    struct config_pcr_set allow[2] = {f->arm, f->x86};
    struct config_pcr_set found = f->x86;
    struct config_pcrs p;
    struct pcr_result r;

    flip(&found, CONFIG_PCR2, 95);
    policy_of(&p, allow, 2);
    assert_int_equal(pcr_check(&p, &found, &r), 0);
    assert_int_equal(r.verdict, PCR_UNKNOWN);
    assert_int_equal(r.closest, 1);
    assert_int_equal(r.differ, 1u << CONFIG_PCR2);
    assert_int_equal(r.nreasons, 1);
    assert_non_null(strstr(r.reasons[0], "PCR2 (application)"));
    assert_non_null(strstr(r.reasons[0], found.hex[CONFIG_PCR2]));
    assert_non_null(strstr(r.reasons[0], f->x86.hex[CONFIG_PCR2]));
    assert_non_null(strstr(r.reasons[0], "#2"));
    assert_null(strstr(r.reasons[0], "PCR0"));
}

/* The closest set wins whatever its position. */
static void
test_closest_first_position(void **state)
{
    struct fixture *f = *state;
    struct config_pcr_set allow[2] = {f->x86, f->arm};
    struct config_pcr_set found = f->arm;
    struct config_pcrs p;
    struct pcr_result r;

    flip(&found, CONFIG_PCR0, 0);
    flip(&found, CONFIG_PCR1, 47);
    policy_of(&p, allow, 2);
    assert_int_equal(pcr_check(&p, &found, &r), 0);
    assert_int_equal(r.verdict, PCR_UNKNOWN);
    assert_int_equal(r.closest, 1);
    assert_int_equal(r.differ, (1u << CONFIG_PCR0) | (1u << CONFIG_PCR1));
    assert_int_equal(r.nreasons, 2);
}

/* Upper case in either side still matches... */
static void
test_case_insensitive(void **state)
{
    struct fixture *f = *state;
    struct config_pcr_set allow = f->signed_eif;
    struct config_pcr_set found;
    char up[CONFIG_PCR_COUNT][CONFIG_PCR_HEX_LEN + 1];
    struct config_pcrs p;
    struct pcr_result r;
    size_t i, j;

    for (i = 0; i < CONFIG_PCR_COUNT; i++) {
        for (j = 0; j <= CONFIG_PCR_HEX_LEN; j++) {
            up[i][j] = (char)toupper((unsigned char)f->signed_eif.hex[i][j]);
        }
        for (j = 0; j < CONFIG_PCR_HEX_LEN; j += 2) {
            allow.hex[i][j] = (char)toupper((unsigned char)allow.hex[i][j]);
        }
    }
    assert_int_equal(pcr_set_from_hex(&found, up[0], up[1], up[2], up[3]), 0);
    assert_string_equal(found.hex[CONFIG_PCR0],
                        f->signed_eif.hex[CONFIG_PCR0]); /* lowered */
    assert_int_not_equal(memcmp(up[0], found.hex[0], CONFIG_PCR_HEX_LEN), 0);
    policy_of(&p, &allow, 1);
    assert_int_equal(pcr_check(&p, &found, &r), 0);
    assert_int_equal(r.verdict, PCR_ALLOWED);
}

/* ...but not a non-hex digit or a wrong length. */
static void
test_malformed_hex(void **state)
{
    struct fixture *f = *state;
    const struct config_pcr_set *s = &f->x86;
    struct config_pcr_set found;
    struct config_pcrs p;
    struct pcr_result r;
    char bad[CONFIG_PCR_HEX_LEN + 2];

    memcpy(bad, s->hex[CONFIG_PCR1], CONFIG_PCR_HEX_LEN + 1);
    bad[10] = 'g';
    assert_int_equal(pcr_set_from_hex(&found, s->hex[0], bad, s->hex[2], NULL),
                     -1);
    assert_int_equal(found.present, 0);
    bad[10] = s->hex[CONFIG_PCR1][10];
    bad[CONFIG_PCR_HEX_LEN - 1] = '\0'; /* 95 digits */
    assert_int_equal(pcr_set_from_hex(&found, s->hex[0], bad, s->hex[2], NULL),
                     -1);
    memcpy(bad, s->hex[CONFIG_PCR1], CONFIG_PCR_HEX_LEN);
    bad[CONFIG_PCR_HEX_LEN] = 'a'; /* 97 digits */
    bad[CONFIG_PCR_HEX_LEN + 1] = '\0';
    assert_int_equal(pcr_set_from_hex(&found, s->hex[0], bad, s->hex[2], NULL),
                     -1);
    assert_int_equal(pcr_set_from_hex(&found, s->hex[0], NULL, s->hex[2], NULL),
                     -1);
    /* A hand-made found set with a bad digit is refused by the check. */
    found = *s;
    found.hex[CONFIG_PCR2][3] = 'z';
    policy_of(&p, &found, 1);
    assert_int_equal(pcr_check(&p, &found, &r), -1);
}

/* PCR8: pinned in the allowed set, the found set must carry it... */
static void
test_pcr8_signed(void **state)
{
    struct fixture *f = *state;
    struct config_pcr_set found = f->signed_eif;
    struct config_pcrs p;
    struct pcr_result r;

    policy_of(&p, &f->signed_eif, 1);
    assert_int_equal(pcr_check(&p, &found, &r), 0);
    assert_int_equal(r.verdict, PCR_ALLOWED);

    found.present &= ~(1u << CONFIG_PCR8); /* unsigned rebuild */
    assert_int_equal(pcr_check(&p, &found, &r), 0);
    assert_int_equal(r.verdict, PCR_UNKNOWN);
    assert_int_equal(r.differ, 1u << CONFIG_PCR8);
    assert_non_null(strstr(r.reasons[0], "PCR8 (signing certificate) is "
                                         "absent"));

    found = f->signed_eif;
    flip(&found, CONFIG_PCR8, 5); /* signed with another certificate */
    assert_int_equal(pcr_check(&p, &found, &r), 0);
    assert_int_equal(r.verdict, PCR_UNKNOWN);
    assert_int_equal(r.differ, 1u << CONFIG_PCR8);
}

/* ...and a found PCR8 is compared even when the allowed set has none. */
static void
test_pcr8_unpinned(void **state)
{
    struct fixture *f = *state;
    struct config_pcr_set allow = f->signed_eif;
    struct config_pcr_set found = f->signed_eif;
    struct config_pcrs p;
    struct pcr_result r;

    allow.present &= ~(1u << CONFIG_PCR8);
    policy_of(&p, &allow, 1);
    assert_int_equal(pcr_check(&p, &found, &r), 0);
    assert_int_equal(r.verdict, PCR_UNKNOWN);
    assert_int_equal(r.differ, 1u << CONFIG_PCR8);
    assert_non_null(strstr(r.reasons[0], "has absent"));

    found.present &= ~(1u << CONFIG_PCR8);
    assert_int_equal(pcr_check(&p, &found, &r), 0);
    assert_int_equal(r.verdict, PCR_ALLOWED);
}

/* Arguments the check refuses. */
static void
test_refused(void **state)
{
    struct fixture *f = *state;
    struct config_pcr_set found = f->x86;
    struct config_pcrs p;
    struct pcr_result r;

    policy_of(&p, &f->x86, 1);
    assert_int_equal(pcr_check(&p, &found, &r), 0);
    p.enabled = 0;
    assert_int_equal(pcr_check(&p, &found, &r), -1);
    policy_of(&p, &f->x86, 0);
    assert_int_equal(pcr_check(&p, &found, &r), -1);
    policy_of(&p, &f->x86, 1);
    found.present &= ~(1u << CONFIG_PCR1);
    assert_int_equal(pcr_check(&p, &found, &r), -1);
    assert_int_equal(pcr_check(NULL, &f->x86, &r), -1);
}

/* The digest a hashedrekord body signs, lowercased... */
static void
test_data_hash(void **state)
{
    char want[PCR_DATA_HASH_HEX + 1], up[PCR_DATA_HASH_HEX + 1];
    char body[512], out[PCR_DATA_HASH_HEX + 1];
    size_t i;

    (void)state;
    for (i = 0; i < PCR_DATA_HASH_HEX; i++) {
        want[i] = "0123456789abcdef"[(i * 7) % 16];
        up[i] = (char)toupper((unsigned char)want[i]);
    }
    want[PCR_DATA_HASH_HEX] = up[PCR_DATA_HASH_HEX] = '\0';
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"0.0.1\",\"kind\":\"hashedrekord\","
             "\"spec\":{\"data\":{\"hash\":{\"algorithm\":\"sha256\","
             "\"value\":\"%s\"}},\"signature\":{}}}",
             up);
    assert_int_equal(
        pcr_entry_data_hash((const uint8_t *)body, strlen(body), out), 0);
    assert_string_equal(out, want);
}

/* ...and bodies that carry none. */
static void
test_data_hash_refused(void **state)
{
    static const struct {
        const char *kind, *alg, *value, *tail;
    } bad[] = {
        {"intoto", "sha256", "", "}}}}"},        /* another kind */
        {"hashedrekord", "sha512", "", "}}}}"},  /* another algorithm */
        {"hashedrekord", "sha256", "0", "}}}}"}, /* 65 digits */
        {"hashedrekord", "sha256", "", "}}}"},   /* not JSON */
    };
    char hex[PCR_DATA_HASH_HEX + 1], body[512], out[PCR_DATA_HASH_HEX + 1];
    size_t i;

    (void)state;
    memset(hex, 'a', PCR_DATA_HASH_HEX);
    hex[PCR_DATA_HASH_HEX] = '\0';
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(body, sizeof(body),
                 "{\"kind\":\"%s\",\"spec\":{\"data\":{\"hash\":{"
                 "\"algorithm\":\"%s\",\"value\":\"%s%s\"%s",
                 bad[i].kind, bad[i].alg, hex, bad[i].value, bad[i].tail);
        assert_int_equal(
            pcr_entry_data_hash((const uint8_t *)body, strlen(body), out), -1);
        assert_int_equal(out[0], '\0');
    }
    /* The twin of the list above: the same body, well formed, passes. */
    snprintf(body, sizeof(body),
             "{\"kind\":\"hashedrekord\",\"spec\":{\"data\":{\"hash\":{"
             "\"algorithm\":\"sha256\",\"value\":\"%s\"}}}}",
             hex);
    assert_int_equal(
        pcr_entry_data_hash((const uint8_t *)body, strlen(body), out), 0);
    hex[10] = 'x'; /* not hex */
    snprintf(body, sizeof(body),
             "{\"kind\":\"hashedrekord\",\"spec\":{\"data\":{\"hash\":{"
             "\"algorithm\":\"sha256\",\"value\":\"%s\"}}}}",
             hex);
    assert_int_equal(
        pcr_entry_data_hash((const uint8_t *)body, strlen(body), out), -1);
    assert_int_equal(out[0], '\0');
    assert_int_equal(pcr_entry_data_hash(NULL, 0, out), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_allowed),
        cmocka_unit_test(test_other_arch_unknown),
        cmocka_unit_test(test_changed_pcr2),
        cmocka_unit_test(test_closest_first_position),
        cmocka_unit_test(test_case_insensitive),
        cmocka_unit_test(test_malformed_hex),
        cmocka_unit_test(test_pcr8_signed),
        cmocka_unit_test(test_pcr8_unpinned),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_data_hash),
        cmocka_unit_test(test_data_hash_refused),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
