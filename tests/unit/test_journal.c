#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deploy/deployment.h"
#include "iface/query.h"
#include "iface/workdir.h"
#include "store/journal.h"
#include "store/lock.h"
#include "store/manifest_store.h"
#include "util/fs.h"
#include "util/mem.h"

/* ---- scratch directories ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup_dir(void **state)
{
    char tmpl[] = "/tmp/mo-journal-XXXXXX";
    char *d = mkdtemp(tmpl);
    if (!d)
        return -1;
    *state = xstrdup(d);
    return 0;
}

static int teardown_dir(void **state)
{
    nftw(*state, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(*state);
    return 0;
}

/* ---- a fully populated deployment ---- */

static void fill_member(struct member *m, int i, int order, bool selected)
{
    member_init(m);
    m->component_type = xasprintf("type%d", i);
    m->id = xasprintf("id-%d", i);
    m->interface = xasprintf("iface-%d", i % 2);
    strv_push(&m->args, "--port");
    strv_push(&m->args, "ttyS1 with space");
    m->legacy = i % 2;
    m->order = order;
    m->selected = selected;
    m->artifact_path = xasprintf("/srv/release/a%d.mender", i);
    m->artifact_name = xasprintf("art-v%d", i);
    m->artifact_size = UINT64_C(18446744073709551000) - (uint64_t)i; /* beyond INT64_MAX */
    snprintf(m->manifest_sha256, sizeof(m->manifest_sha256), "%064x", 0xabc + i);
    kvl_set(&m->provides, "zeta.version", "1");
    kvl_set(&m->provides, "alpha", "quote\" and \\ and \n newline and ünïcode");
    kvl_set(&m->new_provides, "zeta.version", "2");
    kvl_set(&m->new_provides, "b", "");
    m->needs_unpacked = ANSWER_YES;
    m->provide_sizes = ANSWER_NO;
    m->supports_rollback = ANSWER_YES;
    m->needs_reboot = ANSWER_AUTOMATIC;
    m->rollback_reboot = ANSWER_UNSET;
    m->touched = true;
    m->install_started = true;
    m->rollback_ok = true;
    m->rb_attempts = 2 + i;
    m->rb_verified = true;
    m->rb_given_up = true;
    m->failure_ok = i % 2;
    m->rb_failed_step = i % 2 ? xstrdup("ArtifactRollback") : NULL;
    m->rb_failed_error = i % 2 ? xasprintf("ArtifactRollback of %d: exit 1", i) : NULL;
    m->call_seq = 40 + i;
    m->done_seq = 39 + i;
    m->last_rc = 3;
    m->last_state = xstrdup("ArtifactInstall");
    m->last_error = xasprintf("ArtifactInstall of %d failed: exit 3", i);
}

static void fill_deployment(struct deployment *d)
{
    memset(d, 0, sizeof(*d));
    d->id = 7;
    d->status = DEP_INCONSISTENT;
    d->manifest_name = xstrdup("system-core-v2");
    d->manifest_path = xstrdup("/srv/release/manifest.yaml");
    d->manifest_dir = xstrdup("/srv/release");
    d->manifest_text = xstrdup("api_version: mender/v1\nkind: manifest\nname: \"system-core-v2\"\n");
    d->manifest_format = 1;
    d->topology_text = xstrdup("api_version: mender/v1\nkind: topology\n");
    d->plan_hash = xstrdup("00ff00ff");
    d->nmembers = 3;
    d->members = xcalloc(3, sizeof(*d->members));
    fill_member(&d->members[0], 0, 20, true);
    fill_member(&d->members[1], 1, 10, true);
    fill_member(&d->members[2], 2, 30, false);
    d->direction = DIR_ROLLBACK;
    d->cursor = 12;
    d->seq = 345;
    d->rollback_top = 1;
    d->inconsistent = true;
    d->rollback_requested = true;
    d->reboot_pending = true;
    d->boot_id = xstrdup("3c7a4f7e-5c7b-4a7e-9e44-7b1a1d4ad9e0");
    d->resume_seq = 300;
    d->resumes_without_progress = 2;
    d->failure = xstrdup("ArtifactInstall failed on type1.id-1");
    d->rollback_failed = true;
    d->rollback_retries = 2;
    d->started = 1700000000;
    d->ended = 1700000999;
}

static void assert_str_eq_or_null(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void assert_kvl_same(const struct kvlist *a, const struct kvlist *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) { /* same order too */
        assert_string_equal(a->items[i].key, b->items[i].key);
        assert_string_equal(a->items[i].value, b->items[i].value);
    }
}

static void assert_member_same(const struct member *a, const struct member *b)
{
    assert_str_eq_or_null(a->component_type, b->component_type);
    assert_str_eq_or_null(a->id, b->id);
    assert_str_eq_or_null(a->interface, b->interface);
    assert_int_equal(a->args.n, b->args.n);
    for (size_t i = 0; i < a->args.n; i++)
        assert_string_equal(a->args.v[i], b->args.v[i]);
    assert_int_equal(a->legacy, b->legacy);
    assert_int_equal(a->order, b->order);
    assert_int_equal(a->selected, b->selected);
    assert_str_eq_or_null(a->artifact_path, b->artifact_path);
    assert_str_eq_or_null(a->artifact_name, b->artifact_name);
    assert_true(a->artifact_size == b->artifact_size);
    assert_string_equal(a->manifest_sha256, b->manifest_sha256);
    assert_kvl_same(&a->provides, &b->provides);
    assert_kvl_same(&a->new_provides, &b->new_provides);
    assert_int_equal(a->needs_unpacked, b->needs_unpacked);
    assert_int_equal(a->provide_sizes, b->provide_sizes);
    assert_int_equal(a->supports_rollback, b->supports_rollback);
    assert_int_equal(a->needs_reboot, b->needs_reboot);
    assert_int_equal(a->rollback_reboot, b->rollback_reboot);
    assert_int_equal(a->touched, b->touched);
    assert_int_equal(a->install_started, b->install_started);
    assert_int_equal(a->rollback_ok, b->rollback_ok);
    assert_int_equal(a->rb_attempts, b->rb_attempts);
    assert_int_equal(a->rb_verified, b->rb_verified);
    assert_int_equal(a->rb_given_up, b->rb_given_up);
    assert_int_equal(a->failure_ok, b->failure_ok);
    assert_str_eq_or_null(a->rb_failed_step, b->rb_failed_step);
    assert_str_eq_or_null(a->rb_failed_error, b->rb_failed_error);
    assert_int_equal(a->call_seq, b->call_seq);
    assert_int_equal(a->done_seq, b->done_seq);
    assert_int_equal(a->last_rc, b->last_rc);
    assert_str_eq_or_null(a->last_state, b->last_state);
    assert_str_eq_or_null(a->last_error, b->last_error);
}

static void assert_deployment_same(const struct deployment *a, const struct deployment *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->status, b->status);
    assert_str_eq_or_null(a->manifest_name, b->manifest_name);
    assert_str_eq_or_null(a->manifest_path, b->manifest_path);
    assert_str_eq_or_null(a->manifest_dir, b->manifest_dir);
    assert_str_eq_or_null(a->manifest_text, b->manifest_text);
    assert_int_equal(a->manifest_format, b->manifest_format);
    assert_str_eq_or_null(a->topology_text, b->topology_text);
    assert_str_eq_or_null(a->plan_hash, b->plan_hash);
    assert_int_equal(a->nmembers, b->nmembers);
    for (size_t i = 0; i < a->nmembers; i++)
        assert_member_same(&a->members[i], &b->members[i]);
    assert_int_equal(a->direction, b->direction);
    assert_int_equal(a->cursor, b->cursor);
    assert_int_equal(a->seq, b->seq);
    assert_int_equal(a->rollback_top, b->rollback_top);
    assert_int_equal(a->inconsistent, b->inconsistent);
    assert_int_equal(a->rollback_requested, b->rollback_requested);
    assert_int_equal(a->reboot_pending, b->reboot_pending);
    assert_str_eq_or_null(a->boot_id, b->boot_id);
    assert_int_equal(a->resume_seq, b->resume_seq);
    assert_int_equal(a->resumes_without_progress, b->resumes_without_progress);
    assert_str_eq_or_null(a->failure, b->failure);
    assert_int_equal(a->rollback_failed, b->rollback_failed);
    assert_int_equal(a->rollback_retries, b->rollback_retries);
    assert_int_equal(a->started, b->started);
    assert_int_equal(a->ended, b->ended);
}

/* ---- deployment ---- */

static void member_init_leaves_answers_unset(void **state)
{
    (void)state;
    struct member m;
    memset(&m, 0x5a, sizeof(m));
    member_init(&m);
    assert_int_equal(m.needs_unpacked, ANSWER_UNSET);
    assert_int_equal(m.provide_sizes, ANSWER_UNSET);
    assert_int_equal(m.supports_rollback, ANSWER_UNSET);
    assert_int_equal(m.needs_reboot, ANSWER_UNSET);
    assert_int_equal(m.rollback_reboot, ANSWER_UNSET);
    assert_null(m.component_type);
    assert_null(m.args.v);
    assert_int_equal(m.provides.n, 0);
    assert_int_equal(m.call_seq, 0);
    assert_false(m.selected);
    assert_string_equal(m.manifest_sha256, "");
}

static void status_names(void **state)
{
    (void)state;
    assert_string_equal(dep_status_name(DEP_IN_PROGRESS), "in_progress");
    assert_string_equal(dep_status_name(DEP_SUCCESS), "success");
    assert_string_equal(dep_status_name(DEP_FAILED), "failed");
    assert_string_equal(dep_status_name(DEP_INCONSISTENT), "inconsistent");
    assert_string_equal(dep_status_name(DEP_ROLLED_BACK), "rolled_back");
}

static void groups_are_distinct_selected_orders(void **state)
{
    (void)state;
    struct deployment d = { 0 };
    int orders[] = { 30, 10, 30, 20, 5, 10 };
    bool sel[] = { true, true, true, true, false, true };
    d.nmembers = 6;
    d.members = xcalloc(6, sizeof(*d.members));
    for (size_t i = 0; i < 6; i++) {
        member_init(&d.members[i]);
        d.members[i].order = orders[i];
        d.members[i].selected = sel[i];
    }
    size_t n;
    int *g = deployment_groups(&d, &n);
    assert_int_equal(n, 3);
    assert_int_equal(g[0], 10);
    assert_int_equal(g[1], 20);
    assert_int_equal(g[2], 30);
    free(g);
    deployment_free(&d);

    struct deployment empty = { 0 };
    g = deployment_groups(&empty, &n);
    assert_int_equal(n, 0);
    free(g);
}

static void json_round_trip_every_field(void **state)
{
    (void)state;
    struct deployment a, b;
    fill_deployment(&a);
    char *js = deployment_to_json(&a);
    assert_int_equal(deployment_from_json(js, &b, NULL), 0);
    assert_deployment_same(&a, &b);
    /* provides keep their (unsorted) order */
    assert_string_equal(b.members[0].provides.items[0].key, "zeta.version");
    /* and the JSON of the copy is the same text */
    char *js2 = deployment_to_json(&b);
    assert_string_equal(js, js2);
    free(js);
    free(js2);
    deployment_free(&a);
    deployment_free(&b);
    assert_null(a.members);
}

/* A record written before rollback_requested existed (an in-progress deployment of the
 * previous version) still loads: not requested. */
static void json_record_without_rollback_requested(void **state)
{
    (void)state;
    struct deployment a, b;
    fill_deployment(&a);
    char *js = deployment_to_json(&a);
    json_t *o = json_loads(js, 0, NULL);
    assert_non_null(o);
    assert_int_equal(json_object_del(o, "rollback_requested"), 0);
    char *old = json_dumps(o, 0);
    _cleanup_error_ struct error *err = NULL;
    assert_int_equal(deployment_from_json(old, &b, &err), 0);
    assert_false(b.rollback_requested);
    assert_true(b.inconsistent);
    free(old);
    json_decref(o);
    free(js);
    deployment_free(&a);
    deployment_free(&b);
}

static void json_round_trip_nulls_and_defaults(void **state)
{
    (void)state;
    struct deployment a = { 0 }, b;
    a.nmembers = 1;
    a.members = xcalloc(1, sizeof(*a.members));
    member_init(&a.members[0]);
    a.members[0].component_type = xstrdup("t");
    a.members[0].id = xstrdup("i");
    a.members[0].interface = xstrdup("x");
    char *js = deployment_to_json(&a);
    assert_int_equal(deployment_from_json(js, &b, NULL), 0);
    assert_deployment_same(&a, &b);
    assert_null(b.manifest_name);
    assert_null(b.members[0].artifact_path);
    assert_int_equal(b.members[0].needs_reboot, ANSWER_UNSET);
    free(js);
    deployment_free(&a);
    deployment_free(&b);

    /* no members at all */
    struct deployment e = { 0 }, f;
    js = deployment_to_json(&e);
    assert_int_equal(deployment_from_json(js, &f, NULL), 0);
    assert_int_equal(f.nmembers, 0);
    assert_null(f.members);
    free(js);
    deployment_free(&f);
}

static void json_non_utf8_becomes_replacement_character(void **state)
{
    (void)state;
    struct deployment a = { 0 }, b;
    a.failure = xstrdup("bad \xff byte");
    char *js = deployment_to_json(&a);
    assert_int_equal(deployment_from_json(js, &b, NULL), 0);
    assert_string_equal(b.failure, "bad \xEF\xBF\xBD byte");
    free(js);
    deployment_free(&a);
    deployment_free(&b);
}

/* Replaces (or with value NULL removes) one key of the good JSON; path "members.0.x"
 * addresses a member. */
static char *mutate(const char *good, const char *member_key, const char *key, json_t *value)
{
    json_t *o = json_loads(good, 0, NULL);
    json_t *target = o;
    if (member_key)
        target = json_array_get(json_object_get(o, "members"), 0);
    if (value)
        json_object_set_new(target, key, value);
    else
        json_object_del(target, key);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static void expect_rejected(const char *js, const char *what)
{
    struct deployment d;
    _cleanup_error_ struct error *err = NULL;
    memset(&d, 0x5a, sizeof(d));
    if (deployment_from_json(js, &d, &err) != -1)
        fail_msg("accepted: %s", what);
    assert_true(strlen(error_message(err)) > 0);
    assert_null(strchr(error_message(err), '\n'));
    assert_null(d.members);
    assert_null(d.manifest_name);
}

/* A record written before the rollback-retry fields existed reads them as their defaults. */
static void json_without_later_fields_reads_defaults(void **state)
{
    (void)state;
    struct deployment a, b;
    fill_deployment(&a);
    char *js = deployment_to_json(&a);
    json_t *o = json_loads(js, 0, NULL);
    free(js);
    json_object_del(o, "rollback_failed");
    json_object_del(o, "rollback_retries");
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(o, "members"), i, m) {
        json_object_del(m, "failure_ok");
        json_object_del(m, "rb_failed_step");
        json_object_del(m, "rb_failed_error");
    }
    js = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    assert_int_equal(deployment_from_json(js, &b, NULL), 0);
    assert_false(b.rollback_failed);
    assert_int_equal(b.rollback_retries, 0);
    for (i = 0; i < b.nmembers; i++) {
        assert_false(b.members[i].failure_ok);
        assert_null(b.members[i].rb_failed_step);
        assert_null(b.members[i].rb_failed_error);
    }
    assert_false(deployment_rollback_incomplete(&b));
    assert_true(deployment_may_be_inconsistent(&b)); /* its inconsistent flag */
    assert_true(deployment_rollback_incomplete(&a));
    free(js);
    deployment_free(&a);
    deployment_free(&b);
}

static void malformed_json_is_rejected(void **state)
{
    (void)state;
    const char *bad_text[] = { "", "{", "[]", "null", "42", "\"x\"", "{\"id\": 1, \"id\": 2}", "{}" };
    for (size_t i = 0; i < sizeof(bad_text) / sizeof(bad_text[0]); i++)
        expect_rejected(bad_text[i], bad_text[i]);
    expect_rejected(NULL, "NULL");

    struct deployment d;
    fill_deployment(&d);
    char *good = deployment_to_json(&d);
    deployment_free(&d);

    struct {
        const char *member;
        const char *key;
        json_t *value;
    } cases[] = {
        { NULL, "id", json_string("7") },
        { NULL, "id", json_integer(-1) },
        { NULL, "status", json_string("bogus") },
        { NULL, "status", json_integer(1) },
        { NULL, "manifest_name", json_integer(1) },
        { NULL, "manifest_text", json_false() },
        { NULL, "members", json_object() },
        { NULL, "members", json_null() },
        { NULL, "direction", json_string("sideways") },
        { NULL, "cursor", json_integer(1LL << 40) },
        { NULL, "cursor", json_real(1.5) },
        { NULL, "inconsistent", json_integer(1) },
        { NULL, "started", json_string("yesterday") },
        { NULL, "failure", json_stringn("a\0b", 3) },
        { NULL, "seq", NULL },
        { NULL, "members", NULL },
        { "m", "component_type", json_null() },
        { "m", "id", NULL },
        { "m", "args", json_string("--port") },
        { "m", "args", json_pack("[s,i]", "a", 1) },
        { "m", "order", json_string("10") },
        { "m", "selected", json_string("true") },
        { "m", "artifact_size", json_integer(-5) },
        { "m", "artifact_size", json_string("12abc") },
        { "m", "manifest_sha256", json_string("0123456789012345678901234567890123456789012345678901234567890123x") },
        { "m", "manifest_sha256", json_null() },
        { "m", "provides", json_pack("[s]", "a=b") },
        { "m", "provides", json_pack("{s:i}", "a", 1) },
        { "m", "new_provides", json_null() },
        { "m", "needs_reboot", json_string("yes") },
        { "m", "supports_rollback", json_integer(1) },
        { "m", "last_rc", json_null() },
        { "m", "rb_given_up", NULL },
        { "m", "failure_ok", json_string("no") },
        { "m", "rb_failed_step", json_integer(3) },
        { NULL, "rollback_failed", json_integer(0) },
        { NULL, "rollback_retries", json_integer(-1) },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *js = mutate(good, cases[i].member, cases[i].key, cases[i].value);
        char what[128];
        snprintf(what, sizeof(what), "case %zu: %s%s", i, cases[i].member ? "members[0]." : "", cases[i].key);
        expect_rejected(js, what);
        free(js);
    }
    /* one member that is not an object */
    json_t *o = json_loads(good, 0, NULL);
    json_array_append_new(json_object_get(o, "members"), json_string("x"));
    char *js = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    expect_rejected(js, "member string");
    free(js);

    /* the error names the field */
    struct deployment e;
    _cleanup_error_ struct error *err = NULL;
    js = mutate(good, "m", "order", json_string("10"));
    assert_int_equal(deployment_from_json(js, &e, &err), -1);
    assert_string_equal(error_message(err), "deployment record: members[0].order: not an integer");
    free(js);
    free(good);
}

/* ---- journal ---- */

static struct deployment *new_deployment(const char *name, int nmembers)
{
    struct deployment *d = xcalloc(1, sizeof(*d));
    d->status = DEP_IN_PROGRESS;
    d->manifest_name = xstrdup(name);
    d->manifest_text = xasprintf("name: %s\n", name);
    d->started = 1700000000;
    d->nmembers = (size_t)nmembers;
    d->members = xcalloc((size_t)nmembers ? (size_t)nmembers : 1, sizeof(*d->members));
    for (int i = 0; i < nmembers; i++) {
        struct member *m = &d->members[i];
        member_init(m);
        m->component_type = xstrdup(i == 0 ? "gateway" : "rtos");
        m->id = xasprintf("c%d", i);
        m->interface = xstrdup(i == 0 ? "gateway-interface" : "rtos-interface");
        m->order = 10 * (i + 1);
        m->selected = i != 1;
        m->artifact_name = xasprintf("%s-art%d", name, i);
    }
    return d;
}

static void free_deployment(struct deployment *d)
{
    deployment_free(d);
    free(d);
}

/* *e is set, its message contains needle (and is one line); *e is freed for the next call. */
static void check_error(struct error **e, const char *needle)
{
    assert_non_null(*e);
    const char *m = error_message(*e);
    if (!strstr(m, needle) || strchr(m, '\n'))
        fail_msg("error \"%s\" is not one line containing \"%s\"", m, needle);
    error_free(*e);
    *e = NULL;
}

static struct journal *open_ok(const char *dir)
{
    _cleanup_error_ struct error *err = NULL;
    struct journal *j = journal_open(dir, &err);
    if (!j)
        fail_msg("journal_open: %s", error_message(err));
    return j;
}

static void open_creates_private_datastore(void **state)
{
    char *ds = xasprintf("%s/a/b/datastore", (char *)*state);
    struct journal *j = open_ok(ds);
    journal_close(j);
    struct stat st;
    assert_int_equal(stat(ds, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    char *db = xasprintf("%s/orchestrator.db", ds);
    assert_int_equal(stat(db, &st), 0);
    assert_int_equal(st.st_mode & 0077, 0);
    /* WAL and the schema version */
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    assert_int_equal(sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 2);
    sqlite3_finalize(s);
    /* a newer schema is refused */
    assert_int_equal(sqlite3_exec(raw, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    _cleanup_error_ struct error *err = NULL;
    assert_null(journal_open(ds, &err));
    check_error(&err, "orchestrator.db: schema version 99 is newer");
    free(db);
    free(ds);
}

static void open_fails_cleanly_on_a_file_as_datastore(void **state)
{
    char *f = xasprintf("%s/file", (char *)*state);
    assert_int_equal(fs_write_atomic(f, "x", 1, 0600), 0);
    char *ds = xasprintf("%s/sub", f);
    _cleanup_error_ struct error *err = NULL;
    assert_null(journal_open(ds, &err));
    check_error(&err, ds);
    assert_int_equal(store_lock_acquire(ds, &err), -1);
    check_error(&err, "part of its path is a file, not a directory; move the file away");
    bool missing = true;
    assert_null(journal_open_readonly(ds, &missing, &err));
    assert_false(missing);
    check_error(&err, "part of its path is a file");
    /* the datastore itself a file */
    assert_null(journal_open(f, &err));
    check_error(&err, "is not a directory; move the file away, or point MENDER_ORCHESTRATOR_DATASTORE_DIR");
    assert_null(journal_open_readonly(f, &missing, &err));
    assert_false(missing);
    check_error(&err, "is not a directory");
    assert_int_equal(store_lock_acquire(f, &err), -1);
    check_error(&err, "is not a directory");
    free(ds);
    free(f);
}

/* Both opens refuse a lost journal with the same message, and create nothing. */
static void open_fails_lost(const char *ds, const char *needle)
{
    _cleanup_error_ struct error *err = NULL;
    char *db = xasprintf("%s/orchestrator.db", ds);
    struct stat before, after;
    int had = stat(db, &before) == 0;
    assert_null(journal_open(ds, &err));
    char *want = xasprintf("%s: the journal is missing or empty, but ", db);
    check_error(&err, want);
    assert_null(journal_open(ds, &err));
    check_error(&err, needle);
    bool missing = true;
    assert_null(journal_open_readonly(ds, &missing, &err));
    assert_false(missing);
    check_error(&err, needle);
    assert_int_equal(stat(db, &after) == 0, had); /* untouched */
    if (had)
        assert_int_equal(after.st_size, before.st_size);
    free(want);
    free(db);
}

static void touch(const char *ds, const char *name)
{
    char *p = xasprintf("%s/%s", ds, name);
    assert_int_equal(fs_write_atomic(p, "", 0, 0600), 0);
    free(p);
}

static void lost_journal_is_an_error(void **state)
{
    const char *ds = *state;
    _cleanup_error_ struct error *err = NULL;
    char *db = xasprintf("%s/orchestrator.db", ds), *marker = xasprintf("%s/orchestrator.created", ds);
    struct journal *j = open_ok(ds);
    assert_true(fs_is_regular(marker));
    struct deployment *d = new_deployment("m1", 2);
    assert_int_equal(journal_insert(j, d, &err), 0);
    free_deployment(d);
    journal_close(j);

    /* emptied, then deleted: the marker tells */
    assert_int_equal(truncate(db, 0), 0);
    open_fails_lost(ds, "orchestrator.created shows that this datastore had one: the history is lost");
    assert_int_equal(unlink(db), 0);
    open_fails_lost(ds, "then remove ");
    /* Component work dirs: a deployment was in progress */
    char *work = xasprintf("%s/work/rtos/R1", ds), *work2 = xasprintf("%s/work/gateway/G", ds);
    assert_int_equal(workdir_mkdirs(work), 0);
    open_fails_lost(ds, "/work holds the work dirs of a deployment in progress (rtos/R1)");
    assert_int_equal(workdir_mkdirs(work2), 0);
    open_fails_lost(ds, " and 1 more): its Components may be half-updated");
    char *remove = xasprintf("then remove %s/work and %s to start a new journal", ds, marker);
    open_fails_lost(ds, remove);
    free(remove);
    /* the operator removed the traces: a new journal */
    assert_int_equal(unlink(marker), 0);
    char *work_root = xasprintf("%s/work", ds);
    assert_int_equal(workdir_remove(work_root), 0);
    /* empty type folders are no trace: Cleanup leaves them */
    char *type_dir = xasprintf("%s/work/rtos", ds);
    assert_int_equal(workdir_mkdirs(type_dir), 0);
    /* SQLite's leftovers are */
    touch(ds, "orchestrator.db-wal");
    open_fails_lost(ds, "orchestrator.db-wal shows that this datastore had one");
    char *wal = xasprintf("%s/orchestrator.db-wal", ds);
    assert_int_equal(unlink(wal), 0);
    j = open_ok(ds);
    assert_true(fs_is_regular(marker));
    journal_close(j);
    free(wal), free(type_dir), free(work_root), free(work), free(work2), free(marker), free(db);
}

/* A crash between creating the file and its tables leaves an empty file, or one with
 * SQLite's header in WAL mode and a -wal beside it: not a loss. */
static void empty_journal_without_traces_is_new(void **state)
{
    const char *ds = *state;
    touch(ds, "orchestrator.db");
    bool missing = false;
    _cleanup_error_ struct error *err = NULL;
    assert_null(journal_open_readonly(ds, &missing, &err));
    assert_true(missing);
    journal_close(open_ok(ds));

    char *db = xasprintf("%s/orchestrator.db", ds), *marker = xasprintf("%s/orchestrator.created", ds);
    assert_int_equal(unlink(db), 0);
    assert_int_equal(unlink(marker), 0);
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), SQLITE_OK);
    touch(ds, "orchestrator.db-wal");
    assert_null(journal_open_readonly(ds, &missing, &err));
    assert_true(missing);
    journal_close(open_ok(ds));
    sqlite3_close(raw);
    free(marker);
    free(db);
}

/* A journal written before the marker existed gets it from a read-write open. */
static void old_journal_gets_the_marker(void **state)
{
    const char *ds = *state;
    char *marker = xasprintf("%s/orchestrator.created", ds);
    journal_close(open_ok(ds));
    assert_int_equal(unlink(marker), 0);
    bool missing = false;
    _cleanup_error_ struct error *err = NULL;
    struct journal *ro = journal_open_readonly(ds, &missing, &err);
    assert_non_null(ro);
    journal_close(ro);
    assert_false(fs_exists(marker)); /* a read-only open writes nothing */
    journal_close(open_ok(ds));
    assert_true(fs_is_regular(marker));
    free(marker);
}

static void readonly_open(void **state)
{
    const char *dir = *state;
    bool missing = false;
    _cleanup_error_ struct error *err = NULL;
    assert_null(journal_open_readonly(dir, &missing, &err));
    assert_true(missing);
    check_error(&err, "orchestrator.db: no journal yet");
    struct journal *j = open_ok(dir);
    struct deployment *d = new_deployment("m1", 2);
    assert_int_equal(journal_insert(j, d, &err), 0);
    journal_close(j);

    struct journal *r = journal_open_readonly(dir, &missing, &err);
    assert_non_null(r);
    assert_false(missing);
    struct deployment got;
    assert_int_equal(journal_load_current(r, &got, &err), 1);
    assert_string_equal(got.manifest_name, "m1");
    deployment_free(&got);
    assert_int_equal(journal_save(r, d, &err), -1);
    check_error(&err, "orchestrator.db: opened read-only");
    assert_int_equal(journal_insert(r, d, &err), -1);
    check_error(&err, "orchestrator.db: opened read-only");
    journal_close(r);
    free_deployment(d);
}

static void insert_save_load_across_reopen(void **state)
{
    const char *dir = *state;
    _cleanup_error_ struct error *err = NULL;
    struct journal *j = open_ok(dir);
    struct deployment got;
    assert_int_equal(journal_load_current(j, &got, &err), 0);

    struct deployment full;
    fill_deployment(&full);
    full.id = 0;
    full.status = DEP_IN_PROGRESS;
    assert_int_equal(journal_insert(j, &full, &err), 0);
    assert_true(full.id > 0);
    /* a second one in progress is refused and leaves d->id alone */
    struct deployment *other = new_deployment("other", 1);
    assert_int_equal(journal_insert(j, other, &err), -1);
    check_error(&err, "orchestrator.db: deployment 1 is already in progress");
    assert_int_equal(other->id, 0);
    free_deployment(other);

    full.seq = 999;
    free(full.members[1].last_state);
    full.members[1].last_state = xstrdup("ArtifactCommit");
    assert_int_equal(journal_save(j, &full, &err), 0);
    journal_close(j); /* a new connection reads it back */

    j = open_ok(dir);
    assert_int_equal(journal_load_current(j, &got, &err), 1);
    assert_deployment_same(&full, &got);
    deployment_free(&got);

    /* saving a never-recorded or unknown deployment fails */
    struct deployment *nr = new_deployment("nr", 0);
    assert_int_equal(journal_save(j, nr, &err), -1);
    check_error(&err, "cannot save a deployment that was never recorded");
    nr->id = 4242;
    assert_int_equal(journal_save(j, nr, &err), -1);
    check_error(&err, "orchestrator.db: cannot save deployment 4242: no such deployment");
    free_deployment(nr);
    journal_close(j);
    deployment_free(&full);
}

/* Runs sql on the database file of datastore dir through a connection of its own. */
static void raw_exec(const char *dir, const char *sql)
{
    char *db = xasprintf("%s/orchestrator.db", dir);
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(raw, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(raw);
    free(db);
}

static int raw_int(const char *dir, const char *sql)
{
    char *db = xasprintf("%s/orchestrator.db", dir);
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(raw, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(raw);
    free(db);
    return v;
}

/* A save writes the rows of the members that changed, and every row when the journal
 * does not know what the database holds. */
static void saves_write_only_changed_members(void **state)
{
    const char *dir = *state;
    _cleanup_error_ struct error *err = NULL;
    struct journal *j = open_ok(dir);
    struct deployment *d = new_deployment("parts", 5);
    assert_int_equal(journal_insert(j, d, &err), 0);
    assert_int_equal(raw_int(dir, "SELECT count(*) FROM member"), 5);
    raw_exec(dir,
             "CREATE TABLE writes (n INTEGER, heads INTEGER); INSERT INTO writes VALUES (0, 0);"
             "CREATE TRIGGER count_writes AFTER INSERT ON member BEGIN UPDATE writes SET n = n + 1; END;"
             "CREATE TRIGGER count_heads AFTER UPDATE ON deployment BEGIN UPDATE writes SET heads = heads + 1; END;");

    d->seq = 7;
    d->members[3].call_seq = 7;
    d->members[3].last_state = xstrdup("ArtifactInstall");
    assert_int_equal(journal_save(j, d, &err), 0);
    assert_int_equal(raw_int(dir, "SELECT n FROM writes"), 1);
    assert_int_equal(raw_int(dir, "SELECT heads FROM writes"), 1);
    assert_int_equal(journal_save(j, d, &err), 0); /* nothing changed: nothing written */
    assert_int_equal(raw_int(dir, "SELECT n FROM writes"), 1);
    assert_int_equal(raw_int(dir, "SELECT heads FROM writes"), 1);
    d->cursor = 3; /* only the deployment's own fields */
    assert_int_equal(journal_save(j, d, &err), 0);
    assert_int_equal(raw_int(dir, "SELECT n FROM writes"), 1);
    assert_int_equal(raw_int(dir, "SELECT heads FROM writes"), 2);
    d->members[0].needs_reboot = ANSWER_YES;
    d->members[4].last_error = xstrdup("boom");
    assert_int_equal(journal_save(j, d, &err), 0);
    assert_int_equal(raw_int(dir, "SELECT n FROM writes"), 3);
    journal_close(j);

    /* a new connection that has not loaded it writes it whole... */
    j = open_ok(dir);
    assert_int_equal(journal_save(j, d, &err), 0);
    assert_int_equal(raw_int(dir, "SELECT n FROM writes"), 8);
    journal_close(j);
    /* ...and one that has loaded it only what changed after the load */
    j = open_ok(dir);
    struct deployment got;
    assert_int_equal(journal_load_current(j, &got, &err), 1);
    assert_deployment_same(d, &got);
    got.members[2].done_seq = 9;
    assert_int_equal(journal_save(j, &got, &err), 0);
    assert_int_equal(raw_int(dir, "SELECT n FROM writes"), 9);

    /* finishing folds the parts into one document and drops the member rows */
    for (size_t i = 0; i < got.nmembers; i++) /* a success: every selected member installed */
        got.members[i].install_started = got.members[i].selected;
    got.status = DEP_SUCCESS;
    got.ended = 1700000100;
    assert_int_equal(journal_finish(j, &got, &err), 0);
    assert_int_equal(raw_int(dir, "SELECT count(*) FROM member"), 0);
    assert_int_equal(raw_int(dir, "SELECT count(*) FROM deployment WHERE fixed IS NOT NULL"), 0);
    struct history_entry *h;
    size_t n;
    assert_int_equal(journal_history(j, 10, &h, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(h[0].changed.n, 4); /* new_deployment leaves c1 unselected */
    history_free(h, n);
    deployment_free(&got);
    free_deployment(d);
    journal_close(j);
}

/* A member row gone (a damaged file) is an error naming the deployment, not a smaller System. */
static void missing_member_row_is_an_error(void **state)
{
    const char *dir = *state;
    _cleanup_error_ struct error *err = NULL;
    struct journal *j = open_ok(dir);
    struct deployment *d = new_deployment("rows", 3);
    assert_int_equal(journal_insert(j, d, &err), 0);
    journal_close(j);
    raw_exec(dir, "DELETE FROM member WHERE idx = 2");
    j = open_ok(dir);
    struct deployment got;
    assert_int_equal(journal_load_current(j, &got, &err), -1);
    check_error(&err, "orchestrator.db: deployment 1: deployment record: 2 member rows");
    raw_exec(dir, "DELETE FROM member WHERE idx = 0");
    assert_int_equal(journal_load_current(j, &got, &err), -1);
    check_error(&err, "member rows are not numbered");
    journal_close(j);
    free_deployment(d);
}

/* A journal written by schema 1 (the whole deployment in one document) is read as it
 * is, read-only too, and upgraded by the first read-write open. */
static void schema_1_journal_is_read_and_upgraded(void **state)
{
    const char *dir = *state;
    _cleanup_error_ struct error *err = NULL;
    assert_int_equal(mkdir(dir, 0700) == 0 || errno == EEXIST, 1);
    struct deployment *old = new_deployment("old", 3);
    old->id = 1;
    old->status = DEP_SUCCESS;
    old->ended = 1700000050;
    struct deployment full;
    fill_deployment(&full);
    full.id = 2;
    full.status = DEP_IN_PROGRESS;
    char *old_json = deployment_to_json(old);
    char *cur_json = deployment_to_json(&full);
    char *sql = xasprintf(
        "CREATE TABLE deployment (id INTEGER PRIMARY KEY AUTOINCREMENT, status TEXT NOT NULL, manifest_name TEXT,"
        " started INTEGER NOT NULL DEFAULT 0, ended INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL);"
        "CREATE INDEX deployment_status ON deployment(status);"
        "CREATE TABLE last_success (id INTEGER PRIMARY KEY CHECK (id = 1), deployment_id INTEGER NOT NULL,"
        " name TEXT, text TEXT NOT NULL);"
        "INSERT INTO deployment VALUES (1, 'success', 'old', 1700000000, 1700000050, '%s');"
        "INSERT INTO deployment VALUES (2, 'in_progress', '%s', %lld, 0, '%s');"
        "PRAGMA journal_mode=WAL; PRAGMA user_version=1;",
        old_json, full.manifest_name, (long long)full.started, cur_json);
    raw_exec(dir, sql);

    bool missing;
    struct journal *ro = journal_open_readonly(dir, &missing, &err);
    assert_non_null(ro);
    struct deployment got;
    assert_int_equal(journal_load_current(ro, &got, &err), 1);
    assert_deployment_same(&full, &got);
    deployment_free(&got);
    int answer;
    assert_int_equal(journal_last_reboot_answer(ro, &full.members[0], &answer), 1);
    journal_close(ro);
    assert_int_equal(raw_int(dir, "PRAGMA user_version"), 1);

    struct journal *j = open_ok(dir);
    assert_int_equal(raw_int(dir, "PRAGMA user_version"), 2);
    assert_int_equal(journal_load_current(j, &got, &err), 1);
    assert_deployment_same(&full, &got);
    got.seq++;
    got.members[0].done_seq = got.seq;
    assert_int_equal(journal_save(j, &got, &err), 0); /* written in parts from now on */
    assert_int_equal(raw_int(dir, "SELECT count(*) FROM member"), (int)full.nmembers);
    journal_close(j);
    j = open_ok(dir);
    struct deployment again;
    assert_int_equal(journal_load_current(j, &again, &err), 1);
    assert_deployment_same(&got, &again);
    struct history_entry *h;
    size_t n;
    assert_int_equal(journal_history(j, 10, &h, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(h[0].manifest_name, "old");
    history_free(h, n);
    journal_close(j);
    deployment_free(&again);
    deployment_free(&got);
    deployment_free(&full);
    free_deployment(old);
    free(old_json);
    free(cur_json);
    free(sql);
}

static void finish_and_last_success(void **state)
{
    const char *dir = *state;
    _cleanup_error_ struct error *err = NULL;
    struct journal *j = open_ok(dir);
    char *name, *text;
    assert_int_equal(journal_last_success(j, &name, &text), 0);

    struct deployment *d = new_deployment("first", 2);
    assert_int_equal(journal_insert(j, d, &err), 0);
    d->status = DEP_IN_PROGRESS;
    assert_int_equal(journal_finish(j, d, &err), -1); /* must have ended */
    check_error(&err, "deployment 1 cannot finish as in_progress");
    d->status = DEP_FAILED;
    d->ended = 1700000100;
    assert_int_equal(journal_finish(j, d, &err), 0);
    struct deployment got;
    assert_int_equal(journal_load_current(j, &got, &err), 0);
    assert_int_equal(journal_last_success(j, &name, &text), 0);
    free_deployment(d);

    d = new_deployment("second", 2);
    assert_int_equal(journal_insert(j, d, &err), 0);
    d->status = DEP_SUCCESS;
    assert_int_equal(journal_finish(j, d, &err), 0);
    free_deployment(d);
    d = new_deployment("third", 2);
    assert_int_equal(journal_insert(j, d, &err), 0);
    d->status = DEP_INCONSISTENT;
    assert_int_equal(journal_finish(j, d, &err), 0);
    free_deployment(d);
    journal_close(j);

    j = open_ok(dir);
    assert_int_equal(journal_last_success(j, &name, &text), 1);
    assert_string_equal(name, "second");
    assert_string_equal(text, "name: second\n");
    free(name);
    free(text);
    assert_int_equal(journal_load_current(j, &got, &err), 0);
    journal_close(j);
}

static void history_newest_first_and_pruned(void **state)
{
    const char *dir = *state;
    _cleanup_error_ struct error *err = NULL;
    struct journal *j = open_ok(dir);
    long long first_id = 0, last_id = 0;
    for (int i = 0; i < JOURNAL_HISTORY_MAX + 5; i++) {
        char name[32];
        snprintf(name, sizeof(name), "m%d", i);
        struct deployment *d = new_deployment(name, 3);
        assert_int_equal(journal_insert(j, d, &err), 0);
        if (i == 0)
            first_id = d->id;
        last_id = d->id;
        d->status = i % 3 == 0 ? DEP_SUCCESS : DEP_FAILED;
        d->ended = d->started + i;
        d->members[0].install_started = true;
        d->members[2].install_started = i % 3 != 1; /* else it failed before c2's ArtifactInstall */
        assert_int_equal(journal_finish(j, d, &err), 0);
        free_deployment(d);
    }
    /* one in progress: not in the history, never pruned */
    struct deployment *cur = new_deployment("current", 1);
    assert_int_equal(journal_insert(j, cur, &err), 0);

    struct history_entry *h;
    size_t n;
    assert_int_equal(journal_history(j, 1000, &h, &n), 0);
    assert_int_equal(n, JOURNAL_HISTORY_MAX);
    assert_int_equal(h[0].id, last_id);
    assert_string_equal(h[0].manifest_name, "m104");
    for (size_t i = 1; i < n; i++)
        assert_true(h[i].id < h[i - 1].id);
    assert_int_equal(h[n - 1].id, first_id + 5);
    assert_int_equal(h[0].status, 104 % 3 == 0 ? DEP_SUCCESS : DEP_FAILED);
    assert_int_equal(h[0].ended, 1700000000 + 104);
    /* the members whose ArtifactInstall started: c0 and c2 (c1 is not selected) */
    assert_int_equal(h[0].changed.n, 2);
    assert_string_equal(h[0].changed.v[0], "gateway.c0: m104-art0");
    assert_string_equal(h[0].changed.v[1], "rtos.c2: m104-art2");
    assert_string_equal(h[1].manifest_name, "m103"); /* ... and only c0 when c2's never started */
    assert_int_equal(h[1].changed.n, 1);
    assert_string_equal(h[1].changed.v[0], "gateway.c0: m103-art0");
    history_free(h, n);

    assert_int_equal(journal_history(j, 3, &h, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(h[2].manifest_name, "m102");
    history_free(h, n);

    struct deployment got;
    assert_int_equal(journal_load_current(j, &got, &err), 1);
    assert_string_equal(got.manifest_name, "current");
    assert_int_equal(got.id, cur->id);
    deployment_free(&got);
    free_deployment(cur);
    journal_close(j);

    /* the pruned rows are gone from the database */
    char *db = xasprintf("%s/orchestrator.db", dir);
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(raw, "SELECT count(*), min(id) FROM deployment", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), JOURNAL_HISTORY_MAX + 1);
    assert_int_equal(sqlite3_column_int64(s, 1), first_id + 5);
    sqlite3_finalize(s);
    sqlite3_close(raw);
    free(db);
}

static void history_empty(void **state)
{
    struct journal *j = open_ok(*state);
    struct history_entry *h;
    size_t n = 99;
    assert_int_equal(journal_history(j, 10, &h, &n), 0);
    assert_int_equal(n, 0);
    history_free(h, n);
    journal_close(j);
}

static void lock_is_exclusive(void **state)
{
    char *ds = xasprintf("%s/new-datastore", (char *)*state);
    _cleanup_error_ struct error *err = NULL;
    int a = store_lock_acquire(ds, &err);
    assert_true(a >= 0);
    assert_true(fcntl(a, F_GETFD) & FD_CLOEXEC);
    struct stat st;
    char *lock = xasprintf("%s/orchestrator.lock", ds);
    assert_int_equal(stat(lock, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(store_lock_acquire(ds, &err), -1);
    /* held by this very process: its PID cannot be learnt, the lock file is named */
    char *want = xasprintf("another mender-orchestrator process is running (it holds %s); wait for it to end, "
                           "then try again",
                           lock);
    assert_string_equal(error_message(err), want);
    free(want);
    error_free(err);
    err = NULL;
    close(a);
    int b = store_lock_acquire(ds, &err);
    assert_true(b >= 0);
    close(b);
    free(lock);
    free(ds);
}

/* Held by another process: the message names its PID and the lock file. */
static void lock_names_the_holder(void **state)
{
    char *ds = xasprintf("%s/held", (char *)*state);
    int ready[2], quit[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(quit), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(quit[1]); /* EOF on quit: the parent is done */
        struct error *e = NULL;
        int fd = store_lock_acquire(ds, &e);
        char c = fd >= 0 ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1 || read(quit[0], &c, 1) < 0)
            _exit(1);
        _exit(0);
    }
    char c = 0;
    assert_int_equal(read(ready[0], &c, 1), 1);
    assert_int_equal(c, 'y');
    _cleanup_error_ struct error *err = NULL;
    assert_int_equal(store_lock_acquire(ds, &err), -1);
    char *want = xasprintf("another mender-orchestrator process is running (PID %ld holds %s/orchestrator.lock); "
                           "wait for it to end, then try again",
                           (long)pid, ds);
    assert_string_equal(error_message(err), want);
    free(want);
    close(quit[1]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(ready[0]);
    close(ready[1]);
    close(quit[0]);
    free(ds);
}

static int count_files(const char *dir, struct strv *names)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            strv_push(names, e->d_name);
            n++;
        }
    closedir(d);
    return n;
}

static void manifest_store_keeps_two(void **state)
{
    char *store = xasprintf("%s/store/deep", (char *)*state);
    _cleanup_error_ struct error *err = NULL;
    assert_int_equal(manifest_store_put(store, 1, "one\n", 0, &err), 0);
    struct stat st;
    assert_int_equal(stat(store, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(manifest_store_put(store, 2, "two\n", 1, &err), 0);
    assert_int_equal(manifest_store_put(store, 3, "three\n", 1, &err), 0);
    /* a stale temporary copy and a file that is not ours */
    char *stale = xasprintf("%s/4.yaml.tmp.123", store);
    char *mine = xasprintf("%s/notes.txt", store);
    assert_int_equal(fs_write_atomic(stale, "x", 1, 0600), 0);
    assert_int_equal(fs_write_atomic(mine, "x", 1, 0600), 0);
    assert_int_equal(manifest_store_put(store, 5, "five\n", 3, &err), 0);
    struct strv names = { 0 };
    assert_int_equal(count_files(store, &names), 3);
    assert_true(strv_contains(&names, "5.yaml"));
    assert_true(strv_contains(&names, "3.yaml"));
    assert_true(strv_contains(&names, "notes.txt"));
    strv_free(&names);
    char *p = xasprintf("%s/5.yaml", store), *text;
    assert_int_equal(fs_read_file(p, 1024, &text, NULL), 0);
    assert_string_equal(text, "five\n");
    free(text);
    free(p);

    /* rewriting the same id keeps the other */
    assert_int_equal(manifest_store_put(store, 5, "five again\n", 3, &err), 0);
    assert_int_equal(count_files(store, &names), 3);
    strv_free(&names);
    /* no other to keep */
    assert_int_equal(manifest_store_put(store, 6, "six\n", 0, &err), 0);
    assert_int_equal(count_files(store, &names), 2);
    assert_true(strv_contains(&names, "6.yaml"));
    strv_free(&names);

    /* an unwritable store: one line naming it */
    char *bad = xasprintf("%s/notes.txt/sub", store);
    assert_int_equal(manifest_store_put(bad, 7, "x", 0, &err), -1);
    check_error(&err, bad);
    free(bad);
    free(stale);
    free(mine);
    free(store);
}

static void last_reboot_answer(void **state)
{
    _cleanup_error_ struct error *err = NULL;
    struct journal *j = open_ok(*state);
    struct deployment *probe = new_deployment("probe", 4); /* the Components asked about */
    int a = 99;
    assert_int_equal(journal_last_reboot_answer(j, &probe->members[2], &a), 0);
    assert_int_equal(a, ANSWER_UNSET);

    struct deployment *d = new_deployment("old", 4);
    d->members[0].needs_reboot = ANSWER_AUTOMATIC; /* gateway c0 */
    d->members[2].needs_reboot = ANSWER_YES;       /* rtos c2 */
    d->members[3].needs_reboot = ANSWER_AUTOMATIC; /* rtos c3: the same Interface, its own answer */
    assert_int_equal(journal_insert(j, d, &err), 0);
    d->status = DEP_SUCCESS;
    assert_int_equal(journal_finish(j, d, &err), 0);
    free_deployment(d);

    d = new_deployment("new", 4);
    d->members[2].needs_reboot = ANSWER_NO; /* c2 asked again; c0 and c3 not asked */
    assert_int_equal(journal_insert(j, d, &err), 0);
    d->status = DEP_FAILED;
    assert_int_equal(journal_finish(j, d, &err), 0);
    free_deployment(d);

    d = new_deployment("current", 4); /* nothing asked yet */
    assert_int_equal(journal_insert(j, d, &err), 0);
    free_deployment(d);

    assert_int_equal(journal_last_reboot_answer(j, &probe->members[2], &a), 1);
    assert_int_equal(a, ANSWER_NO);
    assert_int_equal(journal_last_reboot_answer(j, &probe->members[3], &a), 1);
    assert_int_equal(a, ANSWER_AUTOMATIC); /* not hidden by c2's newer answer */
    assert_int_equal(journal_last_reboot_answer(j, &probe->members[0], &a), 1);
    assert_int_equal(a, ANSWER_AUTOMATIC);
    assert_int_equal(journal_last_reboot_answer(j, &probe->members[1], &a), 0); /* c1 never asked */
    free(probe->members[3].interface); /* c3 behind another Interface now: the old answer is not its */
    probe->members[3].interface = xstrdup("other-interface");
    assert_int_equal(journal_last_reboot_answer(j, &probe->members[3], &a), 0);
    free_deployment(probe);
    journal_close(j);
}

struct saver {
    struct journal *j;
    long long id;
    int index;
    int failures;
};

#define SAVES_PER_THREAD 40

static void *save_loop(void *arg)
{
    struct saver *s = arg;
    struct deployment *d = new_deployment("concurrent", 4);
    d->id = s->id;
    _cleanup_error_ struct error *err = NULL;
    for (int k = 1; k <= SAVES_PER_THREAD; k++) {
        struct member *m = &d->members[s->index];
        m->call_seq = k;
        m->done_seq = k;
        free(m->last_state);
        m->last_state = xasprintf("thread %d save %d", s->index, k);
        if (journal_save(s->j, d, &err) != 0)
            s->failures++;
    }
    free_deployment(d);
    return NULL;
}

static void concurrent_saves(void **state)
{
    _cleanup_error_ struct error *err = NULL;
    struct journal *j = open_ok(*state);
    struct deployment *d = new_deployment("concurrent", 4);
    assert_int_equal(journal_insert(j, d, &err), 0);
    pthread_t t[4];
    struct saver s[4];
    for (int i = 0; i < 4; i++) {
        s[i] = (struct saver){ .j = j, .id = d->id, .index = i };
        assert_int_equal(pthread_create(&t[i], NULL, save_loop, &s[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(s[i].failures, 0);
    }
    journal_close(j);
    j = open_ok(*state);
    struct deployment got;
    assert_int_equal(journal_load_current(j, &got, &err), 1);
    assert_int_equal(got.id, d->id);
    assert_int_equal(got.nmembers, 4);
    /* the last save of one of the threads */
    int writer = -1;
    for (int i = 0; i < 4; i++)
        if (got.members[i].call_seq == SAVES_PER_THREAD)
            writer = i;
    assert_true(writer >= 0);
    char want[64];
    snprintf(want, sizeof(want), "thread %d save %d", writer, SAVES_PER_THREAD);
    assert_string_equal(got.members[writer].last_state, want);
    deployment_free(&got);
    free_deployment(d);
    journal_close(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(member_init_leaves_answers_unset),
        cmocka_unit_test(status_names),
        cmocka_unit_test(groups_are_distinct_selected_orders),
        cmocka_unit_test(json_round_trip_every_field),
        cmocka_unit_test(json_record_without_rollback_requested),
        cmocka_unit_test(json_round_trip_nulls_and_defaults),
        cmocka_unit_test(json_non_utf8_becomes_replacement_character),
        cmocka_unit_test(malformed_json_is_rejected),
        cmocka_unit_test(json_without_later_fields_reads_defaults),
        cmocka_unit_test_setup_teardown(open_creates_private_datastore, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(open_fails_cleanly_on_a_file_as_datastore, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(lost_journal_is_an_error, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(empty_journal_without_traces_is_new, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(old_journal_gets_the_marker, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(readonly_open, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(insert_save_load_across_reopen, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(saves_write_only_changed_members, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(schema_1_journal_is_read_and_upgraded, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(missing_member_row_is_an_error, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(finish_and_last_success, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(history_newest_first_and_pruned, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(history_empty, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(lock_is_exclusive, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(lock_names_the_holder, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(manifest_store_keeps_two, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(last_reboot_answer, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(concurrent_saves, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
