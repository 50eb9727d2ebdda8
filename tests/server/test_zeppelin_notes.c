/* Unit tests of the Zeppelin note model, its .zpln reader and writer, note
 * paths and file names as Zeppelin makes them, note dates, the notebook
 * store on disk and diff-match-patch patches. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "../unit/check.h"
#include "zeppelin_notes.h"
#include "zeppelin_patch.h"
#include "zeppelin_store.h"

static const zp_note_limits lim = {8, 1 << 20, 1 << 16};

static void test_paths(void)
{
    char out[ZP_PATH_MAX], why[128];
    CHECK_INT(zp_path_normalize("team/demo", out, sizeof(out), why, sizeof(why)), 0);
    CHECK_STR(out, "/team/demo");
    CHECK_INT(zp_path_normalize("  ", out, sizeof(out), why, sizeof(why)), 0);
    CHECK_STR(out, "/Untitled Note");
    CHECK_INT(zp_path_normalize("/a\r\nb", out, sizeof(out), why, sizeof(why)), 0);
    CHECK_STR(out, "/a  b");
    CHECK_INT(zp_path_normalize("/a/", out, sizeof(out), why, sizeof(why)), -EINVAL);
    CHECK_STR(why, "Note name shouldn't end with '/'");
    CHECK_INT(zp_path_normalize("/a/../b", out, sizeof(out), why, sizeof(why)), -EINVAL);
    CHECK_STR(why, "Note name can not contain '..'");
    CHECK_INT(zp_path_normalize("/a//b", out, sizeof(out), why, sizeof(why)), -EINVAL);
    CHECK_INT(zp_path_normalize("/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/n", out, sizeof(out), why,
                                sizeof(why)),
              0);
    CHECK_INT(zp_path_normalize("/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/n", out, sizeof(out),
                                why, sizeof(why)),
              -EINVAL);
    CHECK_STR(why, "Note path has too many folders (limit 16)");
    CHECK_INT(zp_path_normalize("/a/./b", out, sizeof(out), why, sizeof(why)), -EINVAL);
    CHECK_STR(why, "Note folder can not be '.'");
    CHECK_INT(zp_path_normalize("/.git/b", out, sizeof(out), why, sizeof(why)), -EINVAL);
    CHECK_STR(why, "Note folder can not be '.git'");
    CHECK_INT(zp_path_normalize("/.hidden/.b", out, sizeof(out), why, sizeof(why)), 0);
    char longname[300];
    memset(longname, 'n', 256);
    longname[256] = 0;
    CHECK_INT(zp_path_normalize(longname, out, sizeof(out), why, sizeof(why)), -EINVAL);
    CHECK_STR(why, "Note name must be less than 255");

    char rel[256], id[ZP_ID_MAX + 1], path[ZP_PATH_MAX];
    CHECK_INT(zp_note_file_name("2GFTQY1XW", "/team/Hand Written", rel, sizeof(rel)), 0);
    CHECK_STR(rel, "team/Hand Written_2GFTQY1XW.zpln");
    CHECK_INT(zp_file_name_split(rel, id, sizeof(id), path, sizeof(path)), 0);
    CHECK_STR(id, "2GFTQY1XW");
    CHECK_STR(path, "/team/Hand Written");
    CHECK_INT(zp_file_name_split("my_note_ABC.zpln", id, sizeof(id), path, sizeof(path)), 0);
    CHECK_STR(id, "ABC");
    CHECK_STR(path, "/my_note");
    CHECK_INT(zp_file_name_split("noid.zpln", id, sizeof(id), path, sizeof(path)), -EINVAL);
    CHECK_INT(zp_file_name_split("x_.zpln", id, sizeof(id), path, sizeof(path)), -EINVAL);
    CHECK_INT(zp_file_name_split("d/_X.zpln", id, sizeof(id), path, sizeof(path)), -EINVAL);
    CHECK_INT(zp_file_name_split("a_B.json", id, sizeof(id), path, sizeof(path)), -EINVAL);

    zp_note *n;
    REQUIRE(zp_note_new("X", "/~Trash/a", &n) == 0);
    CHECK(zp_note_in_trash(n));
    CHECK_INT(zp_note_set_path(n, "/~Trashy"), 0);
    CHECK(!zp_note_in_trash(n));
    zp_note_free(n);
}

static void test_dates(void)
{
    char buf[40];
    setenv("TZ", "UTC", 1);
    tzset();
    CHECK_INT(zp_parse_date("2019-03-08T16:29:16+0800"), 1552033756000LL);
    CHECK_INT(zp_parse_date("2019-03-08T08:29:16Z"), 1552033756000LL);
    CHECK_INT(zp_parse_date("2019-03-08 08:29:16.250"), 1552033756250LL);
    CHECK_INT(zp_parse_date("Mar 8, 2019 8:29:16 AM"), 1552033756000LL);
    CHECK_INT(zp_parse_date("Mar 08, 2019 20:29:16"), 1552033756000LL + 12 * 3600000LL);
    CHECK_INT(zp_parse_date("yesterday"), -1);
    CHECK_INT(zp_parse_date("2019-03-08 08:29:16.250x"), -1);
    zp_format_file_date(1552033756250LL, buf, sizeof(buf));
    CHECK_STR(buf, "2019-03-08 08:29:16.250");
    CHECK_INT(zp_parse_date(buf), 1552033756250LL);
}

static const char zpln[] =
    "{\"paragraphs\":[{\"title\":\"T\",\"text\":\"%sh\\necho 1\",\"user\":\"u\","
    "\"dateUpdated\":\"2021-08-10 12:32:06.102\",\"progress\":0,\"config\":{\"colWidth\":12.0},"
    "\"settings\":{\"params\":{\"a\":1},\"forms\":{}},\"results\":{\"code\":\"SUCCESS\","
    "\"msg\":[{\"type\":\"HTML\",\"data\":\"<b>x</b>\"}]},\"apps\":[],\"runtimeInfos\":{},"
    "\"jobName\":\"paragraph_1628598715472_-1430436066\",\"id\":\"20210810-1_2\","
    "\"dateCreated\":\"2021-08-10 12:31:55.472\",\"status\":\"FINISHED\"},"
    "{\"text\":\"%sh\\nsleep 9\",\"id\":\"p2\",\"status\":\"RUNNING\"}],"
    "\"name\":\"n\",\"id\":\"2GFTQY1XW\",\"defaultInterpreterGroup\":\"spark\","
    "\"version\":\"0.10.0\",\"noteParams\":{\"x\":\"y\"},\"noteForms\":{},\"angularObjects\":{},"
    "\"config\":{\"isZeppelinNotebookCronEnable\":false},\"info\":{\"isRunning\":true},"
    "\"path\":\"/ignored\"}";

static void test_zpln_round_trip(void)
{
    char why[200];
    zp_note *n = NULL, *m = NULL;
    REQUIRE(zp_note_parse(zpln, strlen(zpln), "2GFTQY1XW", "/team/n", &lim, &n, why, sizeof(why)) ==
            0);
    CHECK_STR(n->path, "/team/n"); /* the file name wins */
    CHECK_STR(n->group, "spark");
    CHECK_INT(n->nparas, 2);
    zp_para *p = n->paras;
    CHECK_STR(p->id, "20210810-1_2");
    CHECK_STR(p->job_name, "paragraph_1628598715472_-1430436066");
    CHECK_STR(p->title, "T");
    CHECK_STR(p->text, "%sh\necho 1");
    CHECK_STR(p->status, "FINISHED");
    CHECK(p->results != NULL);
    CHECK_STR(p->next->status, "ABORT"); /* a run the server did not see end */
    CHECK(cJSON_GetObjectItem(n->info, "isRunning") == NULL);
    CHECK(n->bytes == p->bytes + p->next->bytes);

    zp_write_opts o = {true, false, 500, "python"};
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    zp_note_write(&b, n, &o);
    REQUIRE(zp_note_parse(b.data, b.len, "2GFTQY1XW", "/team/n", &lim, &m, why, sizeof(why)) == 0);
    cJSON *j = cJSON_Parse(b.data);
    REQUIRE(j != NULL);
    CHECK_STR(cJSON_GetObjectItem(j, "name")->valuestring, "n");
    CHECK_STR(cJSON_GetObjectItem(j, "path")->valuestring, "/team/n");
    CHECK_STR(cJSON_GetObjectItem(j, "version")->valuestring, ZP_FORMAT_VERSION);
    cJSON *p0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "paragraphs"), 0);
    CHECK_STR(cJSON_GetObjectItem(p0, "dateCreated")->valuestring, "2021-08-10 12:31:55.472");
    char *res = cJSON_PrintUnformatted(cJSON_GetObjectItem(p0, "results"));
    CHECK_STR(res, "{\"code\":\"SUCCESS\",\"msg\":[{\"type\":\"HTML\",\"data\":\"<b>x</b>\"}]}");
    cJSON_free(res);
    cJSON_Delete(j);
    CHECK_INT(m->nparas, 2);
    CHECK_STR(m->paras->text, p->text);
    CHECK_INT(m->paras->created, p->created);
    CHECK_STR(m->paras->next->status, "ABORT");
    rn_jbuf_free(&b);
    zp_note_free(m);

    /* moves and removals keep the list and the byte count right */
    zp_para *q, *p2 = p->next;
    REQUIRE(zp_para_new(NULL, &q) == 0);
    CHECK(!strncmp(q->id, "paragraph_", 10));
    zp_note_insert(n, q, 1);
    CHECK_INT(zp_para_index(n, q), 1);
    CHECK_INT(zp_para_index(n, p2), 2);
    CHECK(n->tail == p2);
    zp_note_unlink(n, p2);
    CHECK(n->tail == q);
    CHECK_INT(n->nparas, 2);
    CHECK(n->bytes == p->bytes + q->bytes);
    zp_para_free(p2);
    zp_note_free(n);
}

static void test_zpln_refused(void)
{
    char why[200];
    zp_note *n = NULL;
    CHECK_INT(zp_note_parse("{\"paragraphs\":", 14, "A", "/a", &lim, &n, why, sizeof(why)),
              -EINVAL);
    CHECK_STR(why, "not valid JSON");
    CHECK_INT(zp_note_parse("[1]", 3, "A", "/a", &lim, &n, why, sizeof(why)), -EINVAL);
    CHECK_INT(zp_note_parse("{\"cells\":[]}", 12, "A", "/a", &lim, &n, why, sizeof(why)), -EINVAL);
    CHECK_STR(why, "not a Zeppelin note: no 'paragraphs', 'id' or 'name'");
    CHECK_INT(zp_note_parse("{\"paragraphs\":5}", 16, "A", "/a", &lim, &n, why, sizeof(why)),
              -EINVAL);
    const char *dup = "{\"paragraphs\":[{\"id\":\"a\"},{\"id\":\"a\"}]}";
    CHECK_INT(zp_note_parse(dup, strlen(dup), "A", "/a", &lim, &n, why, sizeof(why)), -EINVAL);
    CHECK_STR(why, "two paragraphs with id a");
    char many[1024] = "{\"paragraphs\":[";
    for (int i = 0; i < 9; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s{\"id\":\"p%d\"}",
                 i ? "," : "", i);
    strcat(many, "]}");
    CHECK_INT(zp_note_parse(many, strlen(many), "A", "/a", &lim, &n, why, sizeof(why)), -E2BIG);
    CHECK_STR(why, "over 8 paragraphs (zeppelin.max_paragraphs)");
    CHECK(n == NULL);
    CHECK_INT(zp_notes_bytes(), 0); /* nothing leaked into the count */
}

static void test_patch(void)
{
    char *out = NULL;
    size_t len = 0;
    const char *text = "%sh\necho copied";
    CHECK_INT(zp_patch_apply(text, strlen(text), "@@ -6,8 +6,12 @@\n cho \n+new \n copi\n", 1000,
                             &out, &len),
              0);
    CHECK_STR(out, "%sh\necho new copied");
    CHECK_INT(len, strlen("%sh\necho new copied"));
    free(out);
    /* %-encoded lines, a deletion, and a hunk placed by its context */
    text = "a\nb\nc\nd";
    CHECK_INT(
        zp_patch_apply(text, strlen(text), "@@ -1,5 +1,3 @@\n a%0A\n-b%0A\n c\n", 1000, &out, &len),
        0);
    CHECK_STR(out, "a\nc\nd");
    free(out);
    /* a hunk whose text is not there is skipped */
    CHECK_INT(zp_patch_apply("xyz", 3, "@@ -1,3 +1,4 @@\n abc\n+d\n", 1000, &out, &len), 0);
    CHECK_STR(out, "xyz");
    free(out);
    CHECK_INT(zp_patch_apply("xyz", 3, "garbage", 1000, &out, &len), -EINVAL);
    CHECK_INT(zp_patch_apply("xyz", 3, "@@ -1,3 +1,4 @@\n x%zz\n", 1000, &out, &len), -EINVAL);
    CHECK_INT(zp_patch_apply("xyz", 3, "@@ -1,3 +1,6 @@\n xyz\n+abc\n", 5, &out, &len), -E2BIG);
}

static int done_err = 1;
static int done_count;

static void on_done(void *ud, int err)
{
    (void)ud;
    done_err = err;
    done_count++;
}

static char *dup_str(const char *s)
{
    return strdup(s);
}

typedef struct {
    int found, skipped;
    char last_skip[256];
} scan_result;

static void on_found(void *ud, const char *rel, const char *data, size_t len)
{
    scan_result *r = ud;
    (void)rel;
    (void)data;
    (void)len;
    r->found++;
}

static void on_skipped(void *ud, const char *rel, const char *why)
{
    scan_result *r = ud;
    r->skipped++;
    snprintf(r->last_skip, sizeof(r->last_skip), "%s: %s", rel, why);
}

static void test_store(void)
{
    char dir[] = "/tmp/runnel-zp-store-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char nb[128], path[256];
    snprintf(nb, sizeof(nb), "%s/nb", dir);
    uv_loop_t loop;
    uv_loop_init(&loop);
    zp_store *s;
    REQUIRE(zp_store_new(&loop, nb, 1000, &s) == 0);
    scan_result r = {0};
    CHECK_INT(zp_store_scan(s, on_found, on_skipped, &r), 0); /* no directory yet: no notes */
    CHECK_INT(r.found + r.skipped, 0);
    CHECK_INT(
        zp_store_write(s, "team/a_X1.zpln", NULL, dup_str("{\"id\":\"X1\"}"), 11, on_done, NULL),
        0);
    CHECK_INT(zp_store_pending(s), 1);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(done_err, 0);
    CHECK_INT(zp_store_pending(s), 0);
    char *data = NULL;
    size_t len = 0;
    CHECK_INT(zp_store_read(s, "team/a_X1.zpln", &data, &len), 0);
    CHECK_STR(data, "{\"id\":\"X1\"}");
    free(data);
    /* a rename: the new name written, the old one gone; in order */
    CHECK_INT(zp_store_write(s, "b_X1.zpln", "team/a_X1.zpln", dup_str("{}"), 2, on_done, NULL), 0);
    CHECK_INT(zp_store_write(s, "b_X1.zpln", NULL, dup_str("{\"v\":2}"), 7, on_done, NULL), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(done_count, 3);
    snprintf(path, sizeof(path), "%s/team/a_X1.zpln", nb);
    CHECK(access(path, F_OK) < 0);
    CHECK_INT(zp_store_read(s, "b_X1.zpln", &data, &len), 0);
    CHECK_STR(data, "{\"v\":2}");
    free(data);
    /* a burst of writes of one file: the ones not started yet are one write
     * of the last content, and every caller hears of it */
    int before = done_count;
    for (int i = 0; i < 3; i++) {
        char body[16];
        snprintf(body, sizeof(body), "{\"v\":%d}", 10 + i);
        CHECK_INT(
            zp_store_write(s, "c_X1.zpln", i ? "c_X1.zpln" : NULL, dup_str(body), 9, on_done, NULL),
            0);
    }
    CHECK_INT(zp_store_pending(s), 2);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(done_count - before, 3);
    CHECK_INT(zp_store_read(s, "c_X1.zpln", &data, &len), 0);
    CHECK_STR(data, "{\"v\":12}");
    free(data);
    CHECK_INT(zp_store_remove(s, "c_X1.zpln", on_done, NULL), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    /* a temporary file a crash left is removed by the scan, never read */
    snprintf(path, sizeof(path), "%s/.b_X1.zpln.tmp", nb);
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    CHECK(fd >= 0);
    close(fd);
    snprintf(path, sizeof(path), "%s/big_X2.zpln", nb);
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    CHECK(ftruncate(fd, 2000) == 0);
    close(fd);
    CHECK_INT(zp_store_scan(s, on_found, on_skipped, &r), 0);
    CHECK_INT(r.found, 1);
    CHECK_INT(r.skipped, 1);
    CHECK_STR(r.last_skip, "big_X2.zpln: larger than zeppelin.max_note_bytes (1000)");
    snprintf(path, sizeof(path), "%s/.b_X1.zpln.tmp", nb);
    CHECK(access(path, F_OK) < 0);
    CHECK_INT(zp_store_remove(s, "b_X1.zpln", on_done, NULL), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(done_err, 0);
    CHECK_INT(zp_store_read(s, "b_X1.zpln", &data, &len), -ENOENT);
    /* a folder that cannot be made: the error comes back */
    snprintf(path, sizeof(path), "%s/file", nb);
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    close(fd);
    CHECK_INT(zp_store_write(s, "file/x_X3.zpln", NULL, dup_str("{}"), 2, on_done, NULL), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(done_err, -ENOTDIR);
    zp_store_free(s);
    uv_loop_close(&loop);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    RUN_TEST(test_paths);
    RUN_TEST(test_dates);
    RUN_TEST(test_zpln_round_trip);
    RUN_TEST(test_zpln_refused);
    RUN_TEST(test_patch);
    RUN_TEST(test_store);
    return check_report();
}
