/*
 * fuzz_github.c: libFuzzer target for notify_github_find() (render.h),
 * which reads a GitHub issues list (untrusted: whatever the API, or a
 * proxy in front of it, answers), notify_github_link_next() and
 * notify_github_more(), which read its Link header, and for the issue
 * and envelope renderers fed with the same bytes as an alert.  Checks
 * the contracts: the finder returns -1, 0 or 1, a found number is
 * positive and the count is the list's length (0 unless it parsed); the
 * Link parser returns -1, 0 or 1 and reads nothing past len (ASan); a
 * short page never asks for more; an
 * issue body keeps its code fences closed (an odd number of ``` lines
 * would let alert text escape into Markdown).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "notify/render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_issue(const char *doc)
{
    json_t *m = json_loads(doc, 0, NULL);
    const char *body = json_string_value(json_object_get(m, "body"));
    const char *title = json_string_value(json_object_get(m, "title"));
    const char *p;
    size_t fences = 0;

    if (body == NULL || title == NULL || title[0] == '\0' ||
        strlen(title) > NOTIFY_GITHUB_TITLE_MAX) {
        abort();
    }
    for (p = strstr(body, "```"); p != NULL; p = strstr(p + 3, "```")) {
        fences++;
    }
    if (fences % 2 != 0) {
        abort();
    }
    json_decref(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char id[] =
        "0442e82aa35c118d3742f3848462e28b4a0f1d7c1d2dd7f98df881276a90883d";
    static const char *const labels[] = {"tlogwatch", "a b"};
    uint64_t number = 0;
    size_t count = 0;
    json_t *a;
    char *s, *link;
    int r;

    if (size > NOTIFY_GITHUB_LIST_MAX) {
        return 0;
    }
    r = notify_github_find((const char *)data, size, id, &number, &count);
    if (r < -1 || r > 1 || (r == 1 && number == 0) || (r < 0 && count != 0)) {
        abort();
    }
    if (size <= NOTIFY_GITHUB_LINK_MAX) {
        /* exactly size bytes on the heap: a read past them is caught */
        if ((link = malloc(size > 0 ? size : 1)) == NULL) {
            return 0;
        }
        memcpy(link, data, size);
        r = notify_github_link_next(link, size);
        if (r < -1 || r > 1) {
            abort();
        }
        if ((s = realloc(link, size + 1)) == NULL) {
            free(link);
            return 0;
        }
        link = s;
        link[size] = '\0';
        if (notify_github_more(NOTIFY_GITHUB_PAGE - 1, link) != 0 ||
            (memchr(data, 0, size) == NULL &&
             notify_github_more(NOTIFY_GITHUB_PAGE, link) != (r != 0))) {
            abort();
        }
        free(link);
    }
    a = json_loadb((const char *)data, size, 0, NULL);
    if (a != NULL) {
        s = notify_render_github_issue(a, labels, 2);
        if (s != NULL) {
            check_issue(s);
        }
        free(s);
        free(notify_render_pagerduty(a, "k", "h", "http://x/"));
        free(notify_render_alertmanager(a, 3600, NULL));
        free(notify_render_cloudevent(a, "h"));
        free(notify_render_ocsf(a, "1"));
        json_decref(a);
    }
    return 0;
}
