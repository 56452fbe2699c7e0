/* Test-only: writes deployments into a journal without the engine.
 *   mo-journal-seed DATASTORE FILE...
 * Each FILE ("-" = stdin) holds one deployment in the journal's JSON form
 * (deployment_to_json). It is recorded with journal_insert; one whose status is not
 * in_progress is then ended with journal_finish (last success, history pruning).
 * Prints the id given to each, one per line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/deployment.h"
#include "store/journal.h"
#include "util/fs.h"
#include "util/mem.h"

static char *read_all(FILE *f)
{
    size_t cap = 4096, n = 0;
    char *buf = xmalloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n - 1 == 0) {
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
    }
    buf[n] = '\0';
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: mo-journal-seed DATASTORE FILE...\n");
        return 2;
    }
    _cleanup_error_ struct error *e = NULL;
    struct journal *j = journal_open(argv[1], &e);
    if (!j) {
        fprintf(stderr, "mo-journal-seed: %s\n", error_message(e));
        return 1;
    }
    int rc = 0;
    for (int i = 2; i < argc && rc == 0; i++) {
        char *text = NULL;
        if (strcmp(argv[i], "-") == 0) {
            text = read_all(stdin);
        } else if (fs_read_file(argv[i], 64 << 20, &text, NULL) != 0) {
            perror(argv[i]);
            rc = 1;
            break;
        }
        struct deployment d;
        char err[512];
        if (deployment_from_json(text, &d, err, sizeof(err)) != 0) {
            fprintf(stderr, "mo-journal-seed: %s: %s\n", argv[i], err);
            rc = 1;
        } else {
            d.id = 0;
            if (journal_insert(j, &d, &e) != 0 || (d.status != DEP_IN_PROGRESS && journal_finish(j, &d, &e) != 0)) {
                fprintf(stderr, "mo-journal-seed: %s: %s\n", argv[i], error_message(e));
                rc = 1;
            } else {
                printf("%lld\n", d.id);
            }
            deployment_free(&d);
        }
        free(text);
    }
    journal_close(j);
    return rc;
}
