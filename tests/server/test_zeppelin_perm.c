/* Unit tests of Zeppelin note permissions: Zeppelin's membership rules
 * (empty sets are everyone; owners write, writers run, all of them read;
 * admins do everything), the denial text, the JSON sets and their bounds,
 * the PUT completion, and permissions in a .zpln file. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/check.h"
#include "zeppelin_notes.h"
#include "zeppelin_perm.h"

static zp_perms *parse(const char *json, int *err)
{
    char why[200] = "";
    zp_perms *p = NULL;
    cJSON *j = cJSON_Parse(json);
    *err = zp_perms_parse(j, &p, why, sizeof(why));
    cJSON_Delete(j);
    return p;
}

static char *written(const zp_perms *p)
{
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    zp_perms_write(&b, p);
    char *s = strndup(b.data, b.len);
    rn_jbuf_free(&b);
    return s;
}

static void test_private_note(void)
{
    zp_perms *p = NULL;
    REQUIRE(zp_perms_private("alice", &p) == 0);
    for (zp_perm need = ZP_PERM_READ; need <= ZP_PERM_OWN; need++) {
        CHECK(zp_perms_allow(p, need, "alice", false));
        CHECK(!zp_perms_allow(p, need, "bob", false));
        CHECK(zp_perms_allow(p, need, "bob", true)); /* an admin */
    }
    CHECK(zp_perms_allow(p, ZP_PERM_NONE, "bob", false));
    CHECK(zp_perms_allow(NULL, ZP_PERM_OWN, "bob", false)); /* no permissions: open */
    char *s = written(p);
    CHECK_STR(s, "{\"readers\":[\"alice\"],\"owners\":[\"alice\"],\"writers\":[\"alice\"],"
                 "\"runners\":[\"alice\"]}");
    free(s);
    s = written(NULL);
    CHECK_STR(s, "{\"readers\":[],\"owners\":[],\"writers\":[],\"runners\":[]}");
    free(s);
    char msg[512];
    zp_perms_denial(p, ZP_PERM_READ, "bob", msg, sizeof(msg));
    CHECK_STR(msg, "Insufficient privileges to READER note.\nAllowed users or roles: [alice]\n"
                   "But the user bob belongs to: [bob]");
    zp_perms_free(p);
}

/* Zeppelin's AuthorizationService: isReader = readers|owners|writers|runners,
 * isWriter = writers|owners, isRunner = runners|writers|owners, isOwner =
 * owners; an empty set has everyone. */
static void test_membership(void)
{
    int err;
    zp_perms *p = parse("{\"owners\":[\"o\"],\"writers\":[\"w\"],\"runners\":[\"r\"],"
                        "\"readers\":[\"x\"]}",
                        &err);
    REQUIRE(err == 0 && p);
    static const struct {
        const char *user;
        bool read, write, run, own;
    } want[] = {
        {"o", true, true, true, true},     {"w", true, true, true, false},
        {"r", true, false, true, false},   {"x", true, false, false, false},
        {"z", false, false, false, false},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        CHECK_INT(zp_perms_allow(p, ZP_PERM_READ, want[i].user, false), want[i].read);
        CHECK_INT(zp_perms_allow(p, ZP_PERM_WRITE, want[i].user, false), want[i].write);
        CHECK_INT(zp_perms_allow(p, ZP_PERM_RUN, want[i].user, false), want[i].run);
        CHECK_INT(zp_perms_allow(p, ZP_PERM_OWN, want[i].user, false), want[i].own);
    }
    zp_perms_free(p);
    /* readers empty: everyone reads; owners still alone own */
    p = parse("{\"owners\":[\"o\"],\"writers\":[\"o\"],\"runners\":[\"o\"],\"readers\":[]}", &err);
    REQUIRE(err == 0 && p);
    CHECK(zp_perms_allow(p, ZP_PERM_READ, "z", false));
    CHECK(!zp_perms_allow(p, ZP_PERM_RUN, "z", false));
    CHECK(!zp_perms_allow(p, ZP_PERM_OWN, "z", false));
    zp_perms_free(p);
}

static void test_parse_and_bounds(void)
{
    int err;
    /* trimmed, blanks skipped, repeats dropped, null and missing sets empty */
    zp_perms *p = parse("{\"readers\":[\" bob \",\"bob\",\"\",\"  \"],\"owners\":null}", &err);
    REQUIRE(err == 0 && p);
    char *s = written(p);
    CHECK_STR(s, "{\"readers\":[\"bob\"],\"owners\":[],\"writers\":[],\"runners\":[]}");
    free(s);
    /* completed as Zeppelin's PUT does */
    REQUIRE(zp_perms_complete(p, "alice") == 0);
    s = written(p);
    CHECK_STR(s, "{\"readers\":[\"bob\"],\"owners\":[\"alice\"],\"writers\":[\"alice\"],"
                 "\"runners\":[\"alice\"]}");
    free(s);
    zp_perms_free(p);
    p = parse("{\"writers\":[\"w\"]}", &err);
    REQUIRE(err == 0 && p);
    REQUIRE(zp_perms_complete(p, "alice") == 0);
    s = written(p);
    CHECK_STR(s, "{\"readers\":[],\"owners\":[\"alice\"],\"writers\":[\"w\"],\"runners\":[]}");
    free(s);
    zp_perms_free(p);

    const char *bad[] = {"[]", "{\"readers\":\"bob\"}", "{\"readers\":[1]}",
                         "{\"owners\":[\"a\\u0001b\"]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(parse(bad[i], &err) == NULL);
        CHECK_INT(err, -EINVAL);
    }
    char name[ZP_PERM_NAME_MAX + 2], big[8192];
    memset(name, 'x', ZP_PERM_NAME_MAX + 1);
    name[ZP_PERM_NAME_MAX + 1] = 0;
    snprintf(big, sizeof(big), "{\"readers\":[\"%s\"]}", name);
    CHECK(parse(big, &err) == NULL);
    CHECK_INT(err, -EINVAL);
    name[ZP_PERM_NAME_MAX] = 0; /* exactly the limit */
    snprintf(big, sizeof(big), "{\"readers\":[\"%s\"]}", name);
    p = parse(big, &err);
    CHECK(p != NULL);
    zp_perms_free(p);
    int o;
    o = snprintf(big, sizeof(big), "{\"runners\":[");
    for (int i = 0; i <= ZP_PERM_NAMES_MAX; i++)
        o += snprintf(big + o, sizeof(big) - (size_t)o, "%s\"u%d\"", i ? "," : "", i);
    snprintf(big + o, sizeof(big) - (size_t)o, "]}");
    CHECK(parse(big, &err) == NULL);
    CHECK_INT(err, -EINVAL);
}

/* Permissions go into the note file and come back from it; a file without
 * them is open to all; bad ones keep the file from loading. */
static void test_in_note_file(void)
{
    static const zp_note_limits lim = {8, 1 << 20, 1 << 16};
    zp_note *n = NULL;
    char why[200];
    REQUIRE(zp_note_new("2ABCDEFGH", "/a/b", &n) == 0);
    REQUIRE(zp_note_set_loaded(n) == 0);
    REQUIRE(zp_perms_private("alice", &n->perms) == 0);
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    zp_write_opts file = {true, false, 500, "python"}, wire = {false, false, 500, "python"};
    zp_note_write(&b, n, &file);
    zp_note *m = NULL;
    REQUIRE(zp_note_parse(b.data, b.len, "2ABCDEFGH", "/a/b", &lim, &m, why, sizeof(why)) == 0);
    CHECK(m->perms != NULL);
    CHECK(zp_perms_allow(m->perms, ZP_PERM_READ, "alice", false));
    CHECK(!zp_perms_allow(m->perms, ZP_PERM_READ, "bob", false));
    zp_note_free(m);
    rn_jbuf_free(&b);
    /* not on the wire */
    rn_jbuf_init(&b, 0);
    zp_note_write(&b, n, &wire);
    CHECK(strstr(b.data, "permissions") == NULL);
    rn_jbuf_free(&b);
    zp_note_free(n);

    const char *old = "{\"paragraphs\":[],\"name\":\"b\",\"id\":\"2ABCDEFGH\"}";
    REQUIRE(zp_note_parse(old, strlen(old), "2ABCDEFGH", "/b", &lim, &m, why, sizeof(why)) == 0);
    CHECK(m->perms == NULL);
    zp_note_free(m);
    const char *bad = "{\"paragraphs\":[],\"permissions\":{\"owners\":\"x\"}}";
    m = NULL;
    CHECK_INT(zp_note_parse(bad, strlen(bad), "2ABCDEFGH", "/b", &lim, &m, why, sizeof(why)),
              -EINVAL);
    CHECK(m == NULL);
    /* an imported note's permissions are not read (zp_note_fill) */
    cJSON *j = cJSON_Parse("{\"paragraphs\":[],\"permissions\":{\"owners\":[\"mallory\"]}}");
    REQUIRE(zp_note_new("2ABCDEFGI", "/c", &n) == 0);
    CHECK_INT(zp_note_fill(n, j, &lim, why, sizeof(why)), 0);
    CHECK(n->perms == NULL);
    zp_note_free(n);
    cJSON_Delete(j);
}

int main(void)
{
    RUN_TEST(test_private_note);
    RUN_TEST(test_membership);
    RUN_TEST(test_parse_and_bounds);
    RUN_TEST(test_in_note_file);
    return check_report();
}
