/* Unit tests of the Linkis envelope's decoding: routes, the language
 * mapping, ${var} substitution, execute requests, execIDs and log paging. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../unit/check.h"
#include "linkis_req.h"
#include "linkis_result.h"

static rn_specs *specs;

static void test_routes(void)
{
    char id[LK_ID_MAX + 1];
    CHECK_INT(lk_route_parse("/api/rest_j/v1/entrance/execute", id, sizeof(id)), LK_R_EXECUTE);
    CHECK_INT(lk_route_parse("/api/rest_j/v1/entrance/submit", id, sizeof(id)), LK_R_EXECUTE);
    CHECK_INT(lk_route_parse("/api/res_j/entrance/execution", id, sizeof(id)), LK_R_EXECUTE);
    CHECK_INT(lk_route_parse("/api/entrance/execute/", id, sizeof(id)), LK_R_EXECUTE);
    CHECK_INT(lk_route_parse("/ws/api/entrance/connect", id, sizeof(id)), LK_R_CONNECT);
    CHECK_INT(lk_route_parse("/api/rest_j/v1/user/login", id, sizeof(id)), LK_R_LOGIN);
    CHECK_INT(lk_route_parse("/api/rest_j/v1/entrance/abc:1_x/log", id, sizeof(id)), LK_R_LOG);
    CHECK_STR(id, "abc:1_x");
    CHECK_INT(lk_route_parse("/api/rest_j/entrance/E/progressWithResource", id, sizeof(id)),
              LK_R_PROGRESS_RES);
    CHECK_STR(id, "E");
    CHECK_INT(lk_route_parse("/api/rest_j/v1/entrance/E/kill", id, sizeof(id)), LK_R_KILL);
    CHECK_INT(lk_route_parse("/api/rest_j/v1/entrance/E/frob", id, sizeof(id)), LK_R_UNKNOWN);
    CHECK_INT(lk_route_parse("/api/rest_j/v1/entrance/E/log/x", id, sizeof(id)), LK_R_UNKNOWN);
    CHECK_INT(lk_route_parse("/api/rest_j/v1/entrance//log", id, sizeof(id)), LK_R_UNKNOWN);
    CHECK_INT(lk_route_parse("/api/rest_j/v1/other/x", id, sizeof(id)), LK_R_NONE);
    CHECK_INT(lk_route_parse("/v1/exec", id, sizeof(id)), LK_R_NONE);
    CHECK_INT(lk_route_parse("/api/entrancex/execute", id, sizeof(id)), LK_R_NONE);
    char longpath[LK_ID_MAX + 64];
    memset(longpath, 'a', sizeof(longpath));
    memcpy(longpath, "/api/entrance/", 14);
    strcpy(longpath + LK_ID_MAX + 20, "/log");
    CHECK_INT(lk_route_parse(longpath, id, sizeof(id)), LK_R_UNKNOWN);
}

static const char *mapped(const char *rt, const char *engine)
{
    char msg[1024];
    const rn_spec *s = lk_map_language(specs, rt, engine, msg, sizeof(msg));
    return s ? s->name : "";
}

static void test_mapping(void)
{
    CHECK_STR(mapped("python", "spark"), "python3");
    CHECK_STR(mapped("py", NULL), "python3");
    CHECK_STR(mapped("PySpark", NULL), "python3");
    CHECK_STR(mapped("sql", "spark"), "sqlite");
    CHECK_STR(mapped("hql", "hive"), "sqlite");
    CHECK_STR(mapped("shell", NULL), "bash");
    CHECK_STR(mapped("sh", "shell"), "bash");
    CHECK_STR(mapped("js", NULL), "javascript");
    CHECK_STR(mapped("ruby", NULL), "ruby"); /* any runnel name */
    CHECK_STR(mapped(NULL, "hive"), "sqlite");
    CHECK_STR(mapped("", "python"), "python3");
    CHECK_STR(mapped(NULL, "shell"), "bash");
    CHECK_STR(mapped("powershell", "python"), ""); /* runType decides */
    char msg[1024];
    CHECK(!lk_map_language(specs, "powershell", "spark", msg, sizeof(msg)));
    CHECK(strstr(msg, "unsupported runType 'powershell'") && strstr(msg, "sql") &&
          strstr(msg, "python") && strstr(msg, "shell"));
    CHECK(!lk_map_language(specs, NULL, NULL, msg, sizeof(msg)));
    CHECK(strstr(msg, "must not be empty") && strstr(msg, "spark"));
}

static void subst(const char *code, const char *vars_json, size_t max, int want_err,
                  const char *want)
{
    cJSON *vars = vars_json ? cJSON_Parse(vars_json) : NULL;
    char *out = NULL;
    size_t len = 0;
    int r = lk_subst_vars(code, strlen(code), vars, max, &out, &len);
    CHECK_INT(r, want_err);
    if (!r && want) {
        CHECK_STR(out, want);
        CHECK_INT(len, strlen(want));
    }
    free(out);
    cJSON_Delete(vars);
}

static void test_subst(void)
{
    subst("a ${k1} b", "{\"k1\":\"v1\"}", 100, 0, "a v1 b");
    subst("${n}+${f}=${b}", "{\"n\":36,\"f\":1.5,\"b\":true}", 100, 0, "36+1.5=true");
    subst("${unknown} $x ${} ${k1", "{\"k1\":\"v\"}", 100, 0, "${unknown} $x ${} ${k1");
    subst("$${k}", "{\"k\":\"v\"}", 100, 0, "$v");
    subst("echo ${HOME}", NULL, 100, 0, "echo ${HOME}");
    subst("${k}${k}${k}", "{\"k\":\"12345\"}", 10, -E2BIG, NULL);
    subst("", NULL, 10, 0, "");
}

static int parse(const char *json, lk_req *r, char *msg, size_t size)
{
    cJSON *d = cJSON_Parse(json);
    int st = lk_req_parse(d, specs, 1000, r, msg, size);
    cJSON_Delete(d);
    return st;
}

static void test_requests(void)
{
    lk_req r;
    char msg[1024];
    CHECK_INT(parse("{\"executionCode\":\"print('${a}')\",\"runType\":\"python\","
                    "\"executeApplicationName\":\"spark\",\"params\":{\"variable\":{\"a\":\"x\"},"
                    "\"configuration\":{\"runtime\":{\"runnel.wall_ms\":\"1500\","
                    "\"runnel.memory_bytes\":1048576,\"k3\":\"v3\"}}}}",
                    &r, msg, sizeof(msg)),
              0);
    CHECK_STR(r.code, "print('x')");
    CHECK_STR(r.spec->name, "python3");
    CHECK_STR(r.engine, "spark");
    CHECK_STR(r.creator, "IDE");
    CHECK_INT(r.wall_ms, 1500);
    CHECK_INT(r.memory_bytes, 1048576);
    CHECK_INT(r.output_bytes, 0);
    lk_req_free(&r);

    CHECK_INT(parse("{\"executionContent\":{\"code\":\"echo\",\"runType\":\"shell\"},"
                    "\"labels\":{\"engineType\":\"shell-1\",\"userCreator\":\"hadoop-Visualis\"}}",
                    &r, msg, sizeof(msg)),
              0);
    CHECK_STR(r.engine, "shell");
    CHECK_STR(r.creator, "Visualis");
    CHECK_STR(r.spec->name, "bash");
    lk_req_free(&r);

    CHECK_INT(parse("{\"executionCode\":\"x\",\"runType\":\"SQL\"}", &r, msg, sizeof(msg)), 0);
    CHECK_STR(r.run_type, "sql");
    CHECK_STR(r.engine, "sql");
    lk_req_free(&r);

    static const struct {
        const char *json, *msg;
    } bad[] = {
        {"{\"runType\":\"py\"}", "executionCode must not be empty"},
        {"{\"executionCode\":\"\",\"runType\":\"py\"}", "executionCode must not be empty"},
        {"{\"executionCode\":1,\"runType\":\"py\"}", "executionCode must be a string"},
        {"{\"executionCode\":\"x\",\"runType\":2}", "runType must be a string"},
        {"{\"executionCode\":\"x\",\"runType\":\"py\",\"params\":[]}", "params must be an object"},
        {"{\"executionCode\":\"x\",\"runType\":\"py\",\"params\":{\"variable\":{\"a\":[1]}}}",
         "params.variable.a must be a string, number or boolean"},
        {"{\"executionCode\":\"x\",\"runType\":\"py\",\"params\":{\"configuration\":{\"runtime\":"
         "{\"runnel.output_bytes\":-1}}}}",
         "params.configuration.runtime.runnel.output_bytes must be a positive integer"},
        {"{\"executionCode\":\"x\",\"runType\":\"py\",\"requestApplicationName\":\"a b\"}",
         "requestApplicationName must be 1 to 64 characters of letters, digits, '.', '_', '@', "
         "'-'"},
        {"{\"executionContent\":{\"runType\":\"py\"}}", "executionContent.code must not be empty"},
        {"[]", "data must be an object"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_INT(parse(bad[i].json, &r, msg, sizeof(msg)), LK_ST_INVALID);
        CHECK_STR(msg, bad[i].msg);
        lk_req_free(&r);
    }
}

static void test_exec_id(void)
{
    char id[LK_ID_MAX + 1];
    CHECK_INT(lk_exec_id(id, sizeof(id), "IDE", "hive", "bdpdwc010004:10087", "johnnwang", 21), 0);
    CHECK_STR(id, "030418IDEhivebdpdwc010004:10087IDE_johnnwang_21");
    char big[120];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    CHECK_INT(lk_exec_id(id, sizeof(id), "IDE", "hive", big, "u", 1), -ENAMETOOLONG);
    CHECK_INT(lk_exec_id(id, 10, "IDE", "hive", "h:1", "u", 1), -ENAMETOOLONG);
    CHECK(lk_name_ok("hadoop.user-1@x_y"));
    CHECK(!lk_name_ok(""));
    CHECK(!lk_name_ok("a/b"));
}

static char *log_json(const lk_log *l, size_t from, long long count, bool distinct, size_t *n)
{
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    *n = lk_log_write(l, &b, from, count, distinct);
    rn_jbuf_raw(&b, "", 1);
    return b.data;
}

static void test_log(void)
{
    lk_log l;
    lk_log_init(&l, 1 << 20);
    lk_log_add(&l, LK_LOG_INFO, "start", 5);
    lk_log_feed(&l, 1, "a1\na", 4);
    lk_log_feed(&l, 2, "e1\n", 3);
    lk_log_feed(&l, 1, "2\n\n", 3);
    lk_log_feed(&l, 2, "tail", 4);
    CHECK_INT(l.n, 5); /* start, a1, e1, a2, "" */
    lk_log_flush(&l);
    CHECK_INT(l.n, 6);
    size_t n;
    char *s = log_json(&l, 0, -1, true, &n);
    CHECK_INT(n, 6);
    CHECK_STR(
        s,
        "[\"e1\\ntail\\n\",\"\",\"start\\na1\\na2\\n\\n\",\"start\\na1\\ne1\\na2\\n\\ntail\\n\"]");
    free(s);
    s = log_json(&l, 2, 2, false, &n);
    CHECK_INT(n, 2);
    CHECK_STR(s, "\"e1\\na2\\n\"");
    free(s);
    s = log_json(&l, 99, 5, false, &n);
    CHECK_INT(n, 0);
    CHECK_STR(s, "\"\"");
    free(s);
    lk_log_free(&l);

    /* the cap: lines past it are dropped, with one note */
    lk_log_init(&l, 100);
    for (int i = 0; i < 20; i++)
        lk_log_feed(&l, 1, "0123456789\n", 11);
    CHECK(l.truncated);
    CHECK(l.n < 20);
    CHECK_INT(l.lines[l.n - 1].level, LK_LOG_WARN);
    lk_log_free(&l);

    /* an over-long line is cut, between UTF-8 characters */
    lk_log_init(&l, 1 << 22);
    size_t big = LK_LINE_MAX + 10;
    char *buf = malloc(big);
    memset(buf, 'x', big);
    memcpy(buf + LK_LINE_MAX - 1, "\xc3\xa9", 2);
    lk_log_feed(&l, 1, buf, big);
    lk_log_flush(&l);
    CHECK_INT(l.n, 2);
    CHECK_INT(l.lines[0].len, LK_LINE_MAX - 1);
    CHECK_INT(l.lines[1].len, 11);
    free(buf);
    lk_log_free(&l);
}

/* The routes of job history and result files. */
static void test_history_routes(void)
{
    char id[64];
    CHECK_INT(lk_route_parse("/api/rest_j/v1/jobhistory/42/get", id, sizeof(id)), LK_R_HISTORY_GET);
    CHECK_STR(id, "42");
    CHECK_INT(lk_route_parse("/api/rest_j/v1/jobhistory/list", id, sizeof(id)), LK_R_HISTORY_LIST);
    CHECK_INT(lk_route_parse("/api/rest_j/v1/filesystem/getDirFileTrees", id, sizeof(id)),
              LK_R_FS_TREE);
    CHECK_INT(lk_route_parse("/api/rest_j/v1/filesystem/openFile", id, sizeof(id)), LK_R_FS_OPEN);
    CHECK_INT(lk_route_parse("/api/rest_j/v1/jobhistory/4/2/get", id, sizeof(id)), LK_R_UNKNOWN);
    CHECK_INT(lk_route_parse("/api/rest_j/v1/jobhistory//get", id, sizeof(id)), LK_R_UNKNOWN);
    CHECK_INT(lk_route_parse("/api/rest_j/v1/filesystem/upload", id, sizeof(id)), LK_R_UNKNOWN);
}

static char *rows_of(const lk_rset *s, uint64_t from, uint64_t count)
{
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    lk_rset_write_rows(&b, s->type, s->content, s->len, from, count, "NULL");
    rn_jbuf_raw(&b, "", 1);
    return b.data;
}

/* stdout becomes one text set of lines; cut at the cap with a note. */
static void test_text_result(void)
{
    lk_capture c;
    lk_rset *sets;
    size_t n;
    lk_capture_init(&c, 1024, false);
    lk_capture_feed(&c, "a\nb", 3);
    lk_capture_feed(&c, "c\n", 2);
    REQUIRE(lk_capture_finish(&c, &sets, &n) == 0);
    REQUIRE(n == 1);
    CHECK_INT(sets[0].type, LK_RSET_TEXT);
    CHECK_INT(sets[0].records, 2);
    CHECK(!sets[0].truncated);
    char *r = rows_of(&sets[0], 0, 10);
    CHECK_STR(r, "[[\"a\"],[\"bc\"]]");
    free(r);
    r = rows_of(&sets[0], 1, 10);
    CHECK_STR(r, "[[\"bc\"]]");
    free(r);
    r = rows_of(&sets[0], 2, 10);
    CHECK_STR(r, "[]");
    free(r);
    lk_rsets_free(sets, n);
    lk_capture_free(&c);

    lk_capture_init(&c, 4, false);
    lk_capture_feed(&c, "abcdef\n", 7);
    REQUIRE(lk_capture_finish(&c, &sets, &n) == 0);
    REQUIRE(n == 1);
    CHECK(sets[0].truncated);
    r = rows_of(&sets[0], 0, 10);
    CHECK_STR(r, "[[\"abcd\"],[\"[runnel: the result was cut at 4 bytes "
                 "(linkis.result_max_bytes)]\"]]");
    free(r);
    lk_rsets_free(sets, n);
    lk_capture_free(&c);

    lk_capture_init(&c, 4, false); /* nothing printed: no set */
    REQUIRE(lk_capture_finish(&c, &sets, &n) == 0);
    CHECK_INT(n, 0);
    lk_capture_free(&c);
}

/* sqlite3 -json output: a table set per statement, typed columns. */
static void test_table_result(void)
{
    static const char out[] = "[{\"a\":1,\"b\":\"x\\\"y\",\"c\":2.5},\n"
                              "{\"a\":null,\"b\":\"z\",\"c\":3}]\n"
                              "not json\n"
                              "[{\"n\":1,\"n\":2}]\n";
    lk_capture c;
    lk_rset *sets;
    size_t n;
    lk_capture_init(&c, 1 << 20, true);
    lk_capture_feed(&c, out, sizeof(out) - 1);
    REQUIRE(lk_capture_finish(&c, &sets, &n) == 0);
    REQUIRE(n == 2);
    CHECK_INT(sets[0].type, LK_RSET_TABLE);
    CHECK_INT(sets[0].records, 2);
    CHECK_STR(sets[0].metadata,
              "[{\"columnName\":\"a\",\"comment\":\"NULL\",\"dataType\":\"bigint\"},"
              "{\"columnName\":\"b\",\"comment\":\"NULL\",\"dataType\":\"string\"},"
              "{\"columnName\":\"c\",\"comment\":\"NULL\",\"dataType\":\"double\"}]");
    char *r = rows_of(&sets[0], 0, 10);
    CHECK_STR(r, "[[\"1\",\"x\\\"y\",\"2.5\"],[\"NULL\",\"z\",\"3\"]]");
    free(r);
    CHECK_INT(sets[1].records, 1);
    r = rows_of(&sets[1], 0, 10);
    CHECK_STR(r, "[[\"1\",\"2\"]]"); /* duplicate column names kept apart */
    free(r);
    lk_rsets_free(sets, n);
    lk_capture_free(&c);

    /* Cut inside a row: the whole rows before it stay, marked truncated. */
    lk_capture_init(&c, 40, true);
    lk_capture_feed(&c, out, sizeof(out) - 1);
    REQUIRE(lk_capture_finish(&c, &sets, &n) == 0);
    REQUIRE(n == 1);
    CHECK_INT(sets[0].records, 1);
    CHECK(sets[0].truncated);
    lk_rsets_free(sets, n);
    lk_capture_free(&c);
}

int main(void)
{
    if (rn_specs_load(RUNNEL_TEST_SPECS, false, NULL, NULL, &specs) < 0) {
        fprintf(stderr, "cannot load specs from %s\n", RUNNEL_TEST_SPECS);
        return 1;
    }
    RUN_TEST(test_routes);
    RUN_TEST(test_mapping);
    RUN_TEST(test_subst);
    RUN_TEST(test_requests);
    RUN_TEST(test_exec_id);
    RUN_TEST(test_log);
    RUN_TEST(test_history_routes);
    RUN_TEST(test_text_result);
    RUN_TEST(test_table_result);
    rn_specs_free(specs);
    return check_report();
}
