/* Unit tests for src/specs.c: parsing, validation messages, loading a
 * directory, lookup, availability, version detection, inline wrapping and
 * argv expansion; the shipped specs are loaded too. */
#include "check.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rmtree.h"
#include "specs.h"
#include "specs_version.h"

static void *run_probe(void *p);

#ifndef SPECS_DIR
#error "SPECS_DIR must name the shipped specs directory"
#endif

#define MINIMAL                                                                                    \
    "\"name\":\"demo\",\"display\":\"Demo\",\"language\":\"demo\",\"filename\":\"main.d\","        \
    "\"run\":[\"/bin/sh\",\"{file}\",\"{args}\"],\"example\":\"echo hi\","                         \
    "\"example_output\":\"hi\\n\""

static rn_spec *parse(const char *json, char *err, size_t errsize, int *rc)
{
    rn_spec *sp = NULL;

    *rc = rn_spec_parse(json, strlen(json), &sp, err, errsize);
    return sp;
}

static void test_parse_good(void)
{
    const char *json =
        "{\"$schema\":\"./schema.json\",\"_note\":1,"
        "\"name\":\"demo\",\"display\":\"Demo\",\"language\":\"demo\","
        "\"aliases\":[\"dm\",\"D-Lang\"],\"filename\":\"main.d\","
        "\"compile\":[\"/usr/bin/cc\",\"-o\",\"{build}/main\",\"{file}\"],"
        "\"run\":[\"{build}/main\",\"{args}\"],"
        "\"env\":{\"HOME\":\"/tmp\",\"X\":\"a=b\"},"
        "\"mounts\":[{\"src\":\"/usr/share/x\"},{\"src\":\"/opt/y\",\"dst\":\"/y\","
        "\"optional\":true}],"
        "\"limits\":{\"wall_ms\":20000,\"memory_bytes\":536870912,\"pids\":128,\"nofile\":512},"
        "\"compile_limits\":{\"cpu_ms\":30000,\"tmp_bytes\":1048576,\"output_bytes\":65536},"
        "\"inline\":{\"import_regex\":\"^use .*$\",\"template\":\"$${IMPORTS}\\n$${CODE}\"},"
        "\"example\":\"x\",\"example_output\":\"\","
        "\"packages\":[\"gcc\",\"libc6-dev\"],\"version_cmd\":[\"/usr/bin/cc\",\"--version\"]}";
    char err[256];
    int rc;
    rn_spec *sp = parse(json, err, sizeof(err), &rc);

    CHECK_INT(rc, 0);
    REQUIRE(sp != NULL);
    CHECK_STR(sp->name, "demo");
    CHECK_STR(rn_spec_jobe_id(sp), "demo"); /* no "jobe": the name */
    CHECK_STR(sp->display, "Demo");
    CHECK_STR(sp->language, "demo");
    CHECK_STR(sp->aliases[0], "dm");
    CHECK_STR(sp->aliases[1], "D-Lang");
    CHECK(sp->aliases[2] == NULL);
    CHECK_STR(sp->filename, "main.d");
    CHECK_STR(sp->compile[2], "{build}/main");
    CHECK(sp->compile[4] == NULL);
    CHECK_STR(sp->run[0], "{build}/main");
    CHECK_STR(sp->env[0], "HOME=/tmp");
    CHECK_STR(sp->env[1], "X=a=b");
    CHECK(sp->env[2] == NULL);
    CHECK_INT(sp->nmounts, 2);
    CHECK_STR(sp->mounts[0].src, "/usr/share/x");
    CHECK(sp->mounts[0].dst == NULL);
    CHECK(!sp->mounts[0].optional && !sp->mounts[0].writable);
    CHECK_STR(sp->mounts[1].dst, "/y");
    CHECK(sp->mounts[1].optional);
    CHECK_INT(sp->limits.wall_ms, 20000);
    CHECK_INT(sp->limits.memory_bytes, 536870912);
    CHECK_INT(sp->limits.pids, 128);
    CHECK_INT(sp->limits.nofile, 512);
    CHECK_INT(sp->limits.cpu_ms, 0);
    CHECK_INT(sp->compile_limits.cpu_ms, 30000);
    CHECK_INT(sp->compile_limits.tmp_bytes, 1048576);
    CHECK_INT(sp->compile_limits.output_bytes, 65536);
    CHECK_STR(sp->inline_import_regex, "^use .*$");
    CHECK_STR(sp->inline_template, "$${IMPORTS}\n$${CODE}");
    CHECK_STR(sp->example_output, "");
    CHECK_STR(sp->packages[1], "libc6-dev");
    CHECK_STR(sp->version_cmd[1], "--version");
    CHECK_STR(sp->version, "");
    rn_spec_free(sp);

    sp = parse("{" MINIMAL "}", err, sizeof(err), &rc);
    CHECK_INT(rc, 0);
    REQUIRE(sp != NULL);
    CHECK(sp->compile == NULL);
    CHECK(sp->aliases != NULL && sp->aliases[0] == NULL);
    CHECK(sp->env != NULL && sp->env[0] == NULL);
    CHECK(sp->packages != NULL && sp->packages[0] == NULL);
    CHECK(sp->version_cmd == NULL);
    CHECK(sp->inline_template == NULL);
    CHECK_INT(sp->nmounts, 0);
    rn_spec_free(sp);

    sp = parse("{" MINIMAL ",\"names\":{\"jobe\":\"nodejs\"}}", err, sizeof(err), &rc);
    CHECK_INT(rc, 0);
    REQUIRE(sp != NULL);
    CHECK_STR(rn_spec_jobe_id(sp), "nodejs");
    rn_spec_free(sp);
}

static void test_parse_bad(void)
{
    static const struct {
        const char *json;
        const char *msg;
    } cases[] = {
        {"{\"name\":", "invalid JSON near byte 7"},
        {"[1]", "top level: must be an object"},
        {"{" MINIMAL "} x", "invalid JSON: trailing data at byte 151"},
        {"{" MINIMAL ",\"run\":[\"a\"]}", "field 'run': given twice"},
        {"{" MINIMAL ",\"color\":1}", "field 'color': unknown field"},
        {"{\"display\":\"D\"}", "field 'name': missing"},
        {"{\"name\":7}", "field 'name': must be a string"},
        {"{\"name\":\"\"}", "field 'name': must not be empty"},
        {"{\"name\":\"a b\"}", "field 'name': must be 1-64 of [A-Za-z0-9+#._-]"},
        {"{\"name\":\"x\",\"display\":\"X\"}", "field 'language': missing"},
        {"{\"name\":\"x\",\"display\":\"X\",\"language\":\"x\",\"aliases\":\"y\"}",
         "field 'aliases': must be a array of non-empty strings"},
        {"{\"name\":\"x\",\"display\":\"X\",\"language\":\"x\",\"aliases\":[\"a/b\"]}",
         "field 'aliases': 'a/b' must be 1-64 of [A-Za-z0-9+#._-]"},
        {"{\"name\":\"x\",\"display\":\"X\",\"language\":\"x\",\"filename\":\"../m\"}",
         "field 'filename': must be a plain file name (no '/', no leading '.')"},
        {"{\"name\":\"x\",\"display\":\"X\",\"language\":\"x\",\"filename\":\"m\","
         "\"compile\":[]}",
         "field 'compile': must be a non-empty array of non-empty strings"},
        {"{\"name\":\"x\",\"display\":\"X\",\"language\":\"x\",\"filename\":\"m\"}",
         "field 'run': missing"},
        {"{\"name\":\"x\",\"display\":\"X\",\"language\":\"x\",\"filename\":\"m\","
         "\"run\":[\"a\",3]}",
         "field 'run': must be a non-empty array of non-empty strings"},
        {"{" MINIMAL ",\"env\":[]}", "field 'env': must be an object of strings"},
        {"{" MINIMAL ",\"env\":{\"A\":1}}", "field 'env.A': must be a string"},
        {"{" MINIMAL ",\"env\":{\"A=B\":\"x\"}}", "field 'env': bad variable name 'A=B'"},
        {"{" MINIMAL ",\"mounts\":{}}", "field 'mounts': must be an array of objects"},
        {"{" MINIMAL ",\"mounts\":[{\"src\":\"rel\"}]}",
         "field 'mounts[0].src': must be an absolute path or start with {runtimes}"},
        {"{" MINIMAL ",\"mounts\":[{\"src\":\"/a/../etc\"}]}",
         "field 'mounts[0].src': must be an absolute path or start with {runtimes}"},
        {"{" MINIMAL ",\"mounts\":[{\"src\":\"/a\"},{\"src\":\"/b\",\"dst\":\"b\"}]}",
         "field 'mounts[1].dst': must be an absolute path"},
        {"{" MINIMAL ",\"mounts\":[{\"src\":\"/a\",\"optional\":\"yes\"}]}",
         "field 'mounts[0].optional': must be a boolean"},
        {"{" MINIMAL ",\"mounts\":[{\"src\":\"/a\",\"rw\":true}]}",
         "field 'mounts[0].rw': unknown field"},
        {"{" MINIMAL ",\"limits\":{\"wall_ms\":-1}}",
         "field 'limits.wall_ms': must be an integer from 0 to 86400000"},
        {"{" MINIMAL ",\"limits\":{\"memory_bytes\":1.5}}",
         "field 'limits.memory_bytes': must be an integer from 0 to 9007199254740992"},
        {"{" MINIMAL ",\"limits\":{\"pids\":1e10}}",
         "field 'limits.pids': must be an integer from 0 to 65536"},
        {"{" MINIMAL ",\"limits\":{\"nofile\":\"5\"}}",
         "field 'limits.nofile': must be an integer from 0 to 1048576"},
        {"{" MINIMAL ",\"compile_limits\":{\"wall\":5}}",
         "field 'compile_limits.wall': unknown limit"},
        {"{" MINIMAL ",\"limits\":[]}", "field 'limits': must be an object"},
        {"{" MINIMAL ",\"inline\":\"x\"}", "field 'inline': must be an object"},
        {"{" MINIMAL ",\"inline\":{\"template\":\"int main(){}\"}}",
         "field 'inline.template': must be a string containing $${CODE}"},
        {"{" MINIMAL ",\"inline\":{\"template\":\"$${CODE}\",\"import_regex\":\"(\"}}",
         "field 'inline.import_regex': Unmatched ( or \\("},
        {"{" MINIMAL ",\"inline\":{\"template\":\"$${CODE}\",\"imports\":\"\"}}",
         "field 'inline.imports': unknown field"},
        {"{\"name\":\"x\",\"display\":\"X\",\"language\":\"x\",\"filename\":\"m\","
         "\"run\":[\"a\"]}",
         "field 'example': missing"},
        {"{\"name\":\"x\",\"display\":\"X\",\"language\":\"x\",\"filename\":\"m\","
         "\"run\":[\"a\"],\"example\":\"e\"}",
         "field 'example_output': missing"},
        {"{" MINIMAL ",\"packages\":[\"\"]}",
         "field 'packages': must be a array of non-empty strings"},
        {"{" MINIMAL ",\"version_cmd\":[]}",
         "field 'version_cmd': must be a non-empty array of non-empty strings"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256];
        int rc;
        rn_spec *sp = parse(cases[i].json, err, sizeof(err), &rc);

        CHECK_INT(rc, -EINVAL);
        CHECK(sp == NULL);
        CHECK_STR(err, cases[i].msg);
    }
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    if (f == NULL)
        return;
    fputs(text, f);
    fclose(f);
}

typedef struct {
    char lines[16][512];
    int n;
} errlines;

static void collect(void *ud, const char *line)
{
    errlines *e = ud;

    if (e->n < 16)
        snprintf(e->lines[e->n++], sizeof(e->lines[0]), "%s", line);
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_load_dir(void)
{
    char dir[] = "/tmp/runnel-specs-XXXXXX";
    char want[1400], sub[300];
    errlines e = {0};
    rn_specs *specs = NULL;
    const rn_spec *sp;
    uint64_t t0;
    int rc;

    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(sub, sizeof(sub), "%s/specs", dir);
    REQUIRE(mkdir(sub, 0755) == 0);
    snprintf(want, sizeof(want), "%s/runtimes", dir);
    REQUIRE(mkdir(want, 0755) == 0);
    write_file(sub, "schema.json", "{\"not\":\"a spec\"}");
    write_file(sub, "README.txt", "ignored");
    write_file(
        sub, "a.json",
        "{\"name\":\"alpha\",\"display\":\"A\",\"language\":\"a\",\"aliases\":[\"al\",\"AA\"],"
        "\"filename\":\"m\",\"run\":[\"sh\",\"{file}\"],\"example\":\"e\","
        "\"example_output\":\"\",\"mounts\":[{\"src\":\"{runtimes}\",\"dst\":\"/opt/r\"}],"
        "\"version_cmd\":[\"/bin/sh\",\"-c\",\"printf '\\\\n  v1.2 \\\\nsecond\\\\n'\"]}");
    write_file(sub, "b.json", "{\"name\":\"beta\",\"display\":\"B\"}");
    write_file(
        sub, "c.json",
        "{\"name\":\"gamma\",\"display\":\"G\",\"language\":\"g\",\"aliases\":[\"aa\",\"g\"],"
        "\"filename\":\"m\",\"run\":[\"/nonexistent/gamma\",\"/usr/share/gamma/g.jar\","
        "\"/usr/bin/env\",\"/usr/x:/usr/y\"],\"example\":\"e\","
        "\"mounts\":[{\"src\":\"/nonexistent/lib\"},{\"src\":\"/nonexistent/opt\","
        "\"optional\":true}],"
        "\"example_output\":\"\",\"packages\":[\"gamma-lang\",\"gamma-extra\"],"
        "\"version_cmd\":[\"/bin/sh\",\"-c\",\"echo err-version >&2\"]}");
    write_file(sub, "d.json",
               "{\"name\":\"ALPHA\",\"display\":\"A2\",\"language\":\"a\",\"filename\":\"m\","
               "\"run\":[\"sh\"],\"example\":\"e\",\"example_output\":\"\"}");
    write_file(sub, "e.json",
               "{\"name\":\"slow\",\"display\":\"S\",\"language\":\"s\",\"filename\":\"m\","
               "\"run\":[\"/bin/sh\"],\"example\":\"e\",\"example_output\":\"\","
               "\"version_cmd\":[\"/bin/sh\",\"-c\",\"sleep 30\"]}");
    write_file(sub, "f.json",
               "{\"name\":\"stderr\",\"display\":\"S\",\"language\":\"s\",\"filename\":\"m\","
               "\"run\":[\"/bin/sh\"],\"example\":\"e\",\"example_output\":\"\","
               "\"version_cmd\":[\"/bin/sh\",\"-c\",\"echo ' on stderr ' >&2; exit 3\"]}");

    t0 = now_ms();
    rc = rn_specs_load(sub, true, collect, &e, &specs);
    CHECK_INT(rc, 0);
    CHECK(now_ms() - t0 < 7000); /* the sleeping version_cmd is cut off at 5 s */
    REQUIRE(specs != NULL);
    CHECK_INT(rn_specs_count(specs), 4);
    CHECK_STR(rn_specs_at(specs, 0)->name, "alpha");
    CHECK_STR(rn_specs_at(specs, 1)->name, "gamma");
    CHECK_STR(rn_specs_at(specs, 2)->name, "slow");
    CHECK_STR(rn_specs_at(specs, 3)->name, "stderr");
    CHECK(rn_specs_at(specs, 4) == NULL);

    CHECK_INT(e.n, 3);
    snprintf(want, sizeof(want), "%s/b.json: field 'language': missing", sub);
    CHECK_STR(e.lines[0], want);
    snprintf(want, sizeof(want), "%s/c.json: field 'aliases': 'aa' already names alpha; ignored",
             sub);
    CHECK_STR(e.lines[1], want);
    snprintf(want, sizeof(want),
             "%s/d.json: field 'name': 'ALPHA' already names alpha (%s/a.json); file skipped", sub,
             sub);
    CHECK_STR(e.lines[2], want);

    sp = rn_specs_find(specs, "alpha");
    REQUIRE(sp != NULL);
    CHECK(sp->available);
    CHECK_STR(sp->missing, "");
    CHECK_STR(sp->run[0], "/usr/bin/sh"); /* a bare name is resolved */
    CHECK_STR(sp->version, "v1.2");
    snprintf(want, sizeof(want), "%s/a.json", sub);
    CHECK_STR(sp->path, want);
    snprintf(want, sizeof(want), "%s/runtimes", dir);
    CHECK_STR(sp->mounts[0].src, want);
    CHECK(rn_specs_find(specs, "AL") == sp);
    CHECK(rn_specs_find(specs, "aa") == sp);
    CHECK(rn_specs_find(specs, "Alpha") == sp);

    sp = rn_specs_find(specs, "G");
    REQUIRE(sp != NULL);
    CHECK_STR(sp->name, "gamma");
    CHECK(sp->aliases[0] != NULL && sp->aliases[1] == NULL); /* "aa" was dropped */
    CHECK(!sp->available);
    CHECK_STR(sp->missing, "/nonexistent/gamma, /usr/share/gamma/g.jar, /nonexistent/lib (apt "
                           "install gamma-lang gamma-extra)");
    CHECK_STR(sp->version, ""); /* not run for an unavailable language */

    CHECK_STR(rn_specs_find(specs, "slow")->version, "");
    CHECK_STR(rn_specs_find(specs, "stderr")->version, "on stderr");
    CHECK(rn_specs_find(specs, "beta") == NULL);
    CHECK(rn_specs_find(specs, "") == NULL);
    CHECK(rn_specs_find(specs, NULL) == NULL);
    rn_specs_free(specs);

    /* The same versions off the loop: probe (copies), run, apply into a set
     * loaded after the probe was made; a changed version_cmd is not set. */
    rn_version_probe *probe = NULL;
    rn_specs *first = NULL, *later = NULL;
    e.n = 0;
    CHECK_INT(rn_specs_load(sub, false, NULL, NULL, &first), 0);
    REQUIRE(first != NULL);
    CHECK_STR(rn_specs_find(first, "alpha")->version, "");
    CHECK_INT(rn_version_probe_new(first, 2000, &probe), 0);
    REQUIRE(probe != NULL);
    CHECK_INT(rn_version_probe_count(probe), 3); /* gamma is not installed */
    rn_specs_free(first);                        /* the probe owns its copies */
    t0 = now_ms();
    rn_version_probe_run(probe);
    CHECK(now_ms() - t0 < 3500); /* the sleeping one is cut off at the bound */
    CHECK_INT(rn_specs_load(sub, false, NULL, NULL, &later), 0);
    REQUIRE(later != NULL);
    rn_spec *st = (rn_spec *)rn_specs_find(later, "stderr");
    free(st->version_cmd[2]);
    st->version_cmd[2] = strdup("echo other");
    CHECK_INT(rn_version_probe_apply(probe, later), 1);
    CHECK_STR(rn_specs_find(later, "alpha")->version, "v1.2");
    CHECK_STR(rn_specs_find(later, "stderr")->version, ""); /* its command changed */
    CHECK_STR(rn_specs_find(later, "slow")->version, "");
    CHECK_INT(rn_version_probe_apply(probe, NULL), 0);
    rn_version_probe_free(probe);

    /* a cancel ends a running probe at once (shutdown does not wait) */
    pthread_t th;
    probe = NULL;
    CHECK_INT(rn_version_probe_new(later, 20000, &probe), 0);
    REQUIRE(probe != NULL);
    t0 = now_ms();
    REQUIRE(pthread_create(&th, NULL, run_probe, probe) == 0);
    usleep(300 * 1000);
    rn_version_probe_cancel_all();
    pthread_join(th, NULL);
    CHECK(now_ms() - t0 < 1500);
    rn_version_probe_free(probe);
    rn_specs_free(later);

    CHECK_INT(rn_specs_load("/nonexistent/specs", false, NULL, NULL, &specs), -ENOENT);
    CHECK(specs == NULL);
    rn_rmtree(dir);
}

static void *run_probe(void *p)
{
    rn_version_probe_run(p);
    return NULL;
}

static rn_spec *inline_spec(const char *regex, const char *tmpl)
{
    char json[2048], err[256];
    char rx[512] = "", tp[1024] = "";
    size_t j = 0;
    rn_spec *sp = NULL;

    /* JSON-escape backslashes, quotes and newlines. */
    for (const char *s = regex; s != NULL && *s && j + 3 < sizeof(rx); s++) {
        if (*s == '\\' || *s == '"')
            rx[j++] = '\\';
        rx[j++] = *s;
    }
    rx[j] = '\0';
    j = 0;
    for (const char *s = tmpl; *s && j + 3 < sizeof(tp); s++) {
        if (*s == '\n') {
            tp[j++] = '\\';
            tp[j++] = 'n';
            continue;
        }
        if (*s == '\\' || *s == '"')
            tp[j++] = '\\';
        tp[j++] = *s;
    }
    tp[j] = '\0';
    if (regex != NULL)
        snprintf(json, sizeof(json),
                 "{" MINIMAL ",\"inline\":{\"import_regex\":\"%s\",\"template\":\"%s\"}}", rx, tp);
    else
        snprintf(json, sizeof(json), "{" MINIMAL ",\"inline\":{\"template\":\"%s\"}}", tp);
    if (rn_spec_parse(json, strlen(json), &sp, err, sizeof(err)) < 0)
        fprintf(stderr, "inline_spec: %s\n", err);
    return sp;
}

static void check_wrap(const rn_spec *sp, const char *code, const char *want)
{
    char *out = NULL;
    size_t len = 0;
    int rc = rn_spec_wrap_inline(sp, code, strlen(code), &out, &len);

    CHECK_INT(rc, 0);
    CHECK_STR(out, want);
    CHECK_INT(len, out != NULL ? strlen(out) : 0);
    free(out);
}

static void test_inline_semantics(void)
{
    char err[256];
    int rc;
    char *out = (char *)"x";
    rn_spec *sp = parse("{" MINIMAL "}", err, sizeof(err), &rc);

    REQUIRE(sp != NULL);
    CHECK_INT(rn_spec_wrap_inline(sp, "x", 1, &out, NULL), -ENOTSUP);
    CHECK(out == NULL);
    rn_spec_free(sp);

    /* No regex: $${IMPORTS} stays literally, every $${CODE} is replaced and
     * "$" in the code is not expanded. */
    sp = inline_spec(NULL, "A $${IMPORTS} [$${CODE}] [$${CODE}]");
    REQUIRE(sp != NULL);
    check_wrap(sp, "a$1${CODE}", "A $${IMPORTS} [a$1${CODE}] [a$1${CODE}]");
    rn_spec_free(sp);

    /* An empty regex is the same as none. */
    sp = inline_spec("", "$${IMPORTS}|$${CODE}");
    REQUIRE(sp != NULL);
    check_wrap(sp, "x", "$${IMPORTS}|x");
    rn_spec_free(sp);

    /* Matches anywhere are removed (their newlines stay) and joined with \n;
     * no match gives an empty $${IMPORTS}. */
    sp = inline_spec("^use [a-z:]+;$", "$${IMPORTS}\n--\n$${CODE}");
    REQUIRE(sp != NULL);
    check_wrap(sp, "use a::b;\nx();\n  use c;\nuse d;\ny();use e;",
               "use a::b;\nuse d;\n--\n\nx();\n  use c;\n\ny();use e;");
    check_wrap(sp, "x();", "\n--\nx();");
    check_wrap(sp, "", "\n--\n");
    rn_spec_free(sp);

    /* Code with a NUL byte is handled whole. */
    sp = inline_spec("^i$", "[$${IMPORTS}]$${CODE}");
    REQUIRE(sp != NULL);
    rc = rn_spec_wrap_inline(sp, "a\0b\ni", 5, &out, NULL);
    CHECK_INT(rc, 0);
    if (out != NULL)
        CHECK(memcmp(out, "[i]a\0b\n", 8) == 0);
    free(out);
    rn_spec_free(sp);
}

static const char *const ranna_keys[][2] = {
    /* every key and alias of ranna's spec file, and the runnel language */
    {"ash", "ash"},
    {"racket", "racket"},
    {"racket-8-2", "racket"},
    {"racket-7-9", "racket"},
    {"bash", "bash"},
    {"brainfuck", "brainfuck"},
    {"bun", "typescript"},
    {"c", "c"},
    {"cpp", "cpp"},
    {"deno", "typescript"},
    {"dotnet-script", "csharp"},
    {"golang", "go"},
    {"gotip", "go"},
    {"haskell", "haskell"},
    {"kotlin", "kotlin"},
    {"kotlin-script", "kotlin"},
    {"mono", "csharp"},
    {"node", "javascript"},
    {"openjdk-11", "java"},
    {"openjdk-17", "java"},
    {"pascal", "pascal"},
    {"php", "php"},
    {"python3", "python3"},
    {"ruby", "ruby"},
    {"rust", "rust"},
    {"sh", "sh"},
    {"c#", "csharp"},
    {"csharp", "csharp"},
    {"c++", "cpp"},
    {"csx", "csharp"},
    {"ts", "typescript"},
    {"typescript", "typescript"},
    {"fpc", "pascal"},
    {"go", "go"},
    {"java", "java"},
    {"javascript", "javascript"},
    {"js", "javascript"},
    {"nodejs", "javascript"},
    {"py", "python3"},
    {"python", "python3"},
    /* runnel's own names and aliases as users type them */
    {"rs", "rust"},
    {"cs", "csharp"},
    {"rb", "ruby"},
    {"pl", "perl"},
    {"perl", "perl"},
    {"lua", "lua"},
    {"tcl", "tcl"},
    {"r", "r"},
    {"fortran", "fortran"},
    {"sqlite", "sqlite"},
    {"sqlite3", "sqlite"},
    {"hs", "haskell"},
    {"bf", "brainfuck"},
    {"dash", "sh"},
    {"kt", "kotlin"},
    {"ocaml", "ocaml"},
    {"elixir", "elixir"},
};

static rn_specs *shipped;

static void test_names_parse(void)
{
    char err[256];
    rn_spec *sp = NULL;
    const char *base = "{\"name\":\"x\",\"display\":\"X\",\"language\":\"x\","
                       "\"filename\":\"m\",\"run\":[\"/bin/true\"],\"example\":\"e\","
                       "\"example_output\":\"\"";
    char buf[1024];

    /* no table: ranna's key is the name, nothing else */
    snprintf(buf, sizeof(buf), "%s}", base);
    REQUIRE(rn_spec_parse(buf, strlen(buf), &sp, err, sizeof(err)) == 0);
    CHECK_STR(rn_spec_name_for(sp, "ranna", 0), "x");
    CHECK(rn_spec_name_for(sp, "ranna", 1) == NULL);
    CHECK(rn_spec_name_for(sp, "piston", 0) == NULL);
    CHECK(rn_spec_name_for(sp, "judge0", 0) == NULL);
    CHECK(rn_spec_name_for(sp, "jobe", 0) == NULL);
    CHECK(rn_spec_name_for(sp, "linkis", 0) == NULL);
    CHECK(rn_spec_name_for(sp, "nonsense", 0) == NULL);
    rn_spec_free(sp);

    snprintf(buf, sizeof(buf),
             "%s,\"names\":{\"ranna\":[\"xx\",\"x2\"],\"piston\":{\"language\":\"ex\","
             "\"aliases\":[\"e1\",\"e2\"],\"runtime\":\"rt\"},\"judge0\":[{\"id\":71,"
             "\"name\":\"X (1.0)\"},{\"id\":9,\"name\":\"X (0.9)\"}],\"jobe\":\"xj\","
             "\"linkis\":[\"lx\"],\"zeppelin\":[\"zx\"]}}",
             base);
    REQUIRE(rn_spec_parse(buf, strlen(buf), &sp, err, sizeof(err)) == 0);
    CHECK_STR(rn_spec_name_for(sp, "ranna", 0), "xx");
    CHECK_STR(rn_spec_name_for(sp, "ranna", 1), "x2");
    CHECK_STR(rn_spec_name_for(sp, "piston", 0), "ex");
    CHECK_STR(rn_spec_name_for(sp, "piston", 2), "e2");
    CHECK(rn_spec_name_for(sp, "piston", 3) == NULL);
    CHECK_STR(sp->names.piston->runtime, "rt");
    CHECK_STR(rn_spec_name_for(sp, "judge0", 0), "71");
    CHECK_STR(rn_spec_name_for(sp, "judge0", 1), "9");
    CHECK_STR(sp->names.judge0[1].name, "X (0.9)");
    CHECK_STR(rn_spec_name_for(sp, "jobe", 0), "xj");
    CHECK_STR(rn_spec_name_for(sp, "linkis", 0), "lx");
    CHECK_STR(rn_spec_name_for(sp, "zeppelin", 0), "zx");
    rn_spec_free(sp);

    static const char *const bad[][2] = {
        {"\"names\":[]", "field 'names'"},
        {"\"names\":{\"pistn\":{}}", "names.pistn"},
        {"\"names\":{\"ranna\":[]}", "names.ranna"},
        {"\"names\":{\"ranna\":[\"a b\"]}", "names.ranna"},
        {"\"names\":{\"ranna\":[\"a\",\"A\"]}", "given twice"},
        {"\"names\":{\"piston\":{\"aliases\":[]}}", "names.piston.language"},
        {"\"names\":{\"piston\":{\"language\":\"x\",\"color\":1}}", "names.piston.color"},
        {"\"names\":{\"piston\":{\"language\":\"x\",\"runtime\":1}}", "names.piston.runtime"},
        {"\"names\":{\"judge0\":[]}", "names.judge0"},
        {"\"names\":{\"judge0\":[{\"id\":0,\"name\":\"X\"}]}", "names.judge0"},
        {"\"names\":{\"judge0\":[{\"id\":1.5,\"name\":\"X\"}]}", "names.judge0"},
        {"\"names\":{\"judge0\":[{\"id\":7,\"name\":\"X\"},{\"id\":7,\"name\":\"Y\"}]}",
         "id 7 given twice"},
        {"\"names\":{\"jobe\":\"\"}", "names.jobe"},
        {"\"names\":{\"jobe\":\"a/b\"}", "names.jobe"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(buf, sizeof(buf), "%s,%s}", base, bad[i][0]);
        err[0] = 0;
        CHECK_INT(rn_spec_parse(buf, strlen(buf), &sp, err, sizeof(err)), -EINVAL);
        if (!strstr(err, bad[i][1]))
            fprintf(stderr, "  %s -> %s\n", bad[i][0], err);
        CHECK(strstr(err, bad[i][1]) != NULL);
    }
}

/* Two specs claim the same names: the later file's are dropped, reported. */
static void test_names_clash(void)
{
    char dir[] = "/tmp/runnel-names-XXXXXX";
    errlines e = {0};
    rn_specs *specs = NULL;
    char path[512];
    const char *spec =
        "{\"name\":\"%s\",\"display\":\"X\",\"language\":\"x\",\"filename\":\"m\","
        "\"run\":[\"/bin/true\"],\"example\":\"e\",\"example_output\":\"\",\"names\":{"
        "\"ranna\":[\"%s-r\",\"shared-r\"],\"piston\":{\"language\":\"%s\",\"aliases\":[\"pa\"]},"
        "\"judge0\":[{\"id\":%d,\"name\":\"X\"},{\"id\":42,\"name\":\"X\"}],\"jobe\":\"jb\"}}";

    REQUIRE(mkdtemp(dir) != NULL);
    for (int i = 0; i < 2; i++) {
        const char *n = i ? "bb" : "aa";
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s.json", dir, n);
        f = fopen(path, "w");
        REQUIRE(f != NULL);
        fprintf(f, spec, n, n, i ? "aa" : "aa", 40 + i);
        fclose(f);
    }
    CHECK_INT(rn_specs_load(dir, false, collect, &e, &specs), 0);
    REQUIRE(specs != NULL);
    CHECK_INT(rn_specs_count(specs), 2);
    const rn_spec *aa = rn_specs_find(specs, "aa"), *bb = rn_specs_find(specs, "bb");
    REQUIRE(aa != NULL && bb != NULL);
    /* ranna keys resolve through rn_specs_find and rn_specs_find_for */
    CHECK(rn_specs_find(specs, "AA-R") == aa);
    CHECK(rn_specs_find(specs, "bb-r") == bb);
    CHECK(rn_specs_find(specs, "shared-r") == aa);
    CHECK(rn_specs_find_for(specs, "ranna", "shared-r") == aa);
    CHECK(rn_specs_find_for(specs, "ranna", "bb") == bb);
    CHECK_STR(rn_spec_name_for(bb, "ranna", 0), "bb-r");
    CHECK(rn_spec_name_for(bb, "ranna", 1) == NULL);
    /* piston "aa" belongs to aa; bb's whole piston entry goes */
    CHECK(rn_specs_find_for(specs, "piston", "aa") == aa);
    CHECK(rn_specs_find_for(specs, "piston", "PA") == aa);
    CHECK(bb->names.piston == NULL);
    /* judge0: 40 -> aa, 41 -> bb, 42 -> aa only */
    CHECK(rn_specs_find_judge0(specs, 40) == aa);
    CHECK(rn_specs_find_judge0(specs, 41) == bb);
    CHECK(rn_specs_find_judge0(specs, 42) == aa);
    CHECK(rn_specs_find_for(specs, "judge0", "41") == bb);
    CHECK(rn_specs_find_for(specs, "judge0", "43") == NULL);
    CHECK_INT(bb->names.njudge0, 1);
    CHECK(rn_specs_find_for(specs, "jobe", "JB") == aa);
    CHECK(bb->names.jobe == NULL);
    CHECK(rn_specs_find_for(specs, "nonsense", "aa") == NULL);
    CHECK(rn_specs_find_for(specs, "piston", "") == NULL);
    /* one report per dropped name: ranna shared-r, piston, judge0 42, jobe */
    CHECK_INT(e.n, 4);
    for (int i = 0; i < e.n; i++)
        CHECK(strstr(e.lines[i], "bb.json: field 'names.") != NULL);
    rn_specs_free(specs);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s.json", dir, i ? "bb" : "aa");
        unlink(path);
    }
    rmdir(dir);
}

/* The shipped specs' names for the envelopes that will call them. */
static void test_shipped_names(void)
{
    REQUIRE(shipped != NULL);
    CHECK(rn_specs_find_for(shipped, "piston", "python") == rn_specs_find(shipped, "python3"));
    CHECK(rn_specs_find_for(shipped, "piston", "c++") == rn_specs_find(shipped, "cpp"));
    CHECK(rn_specs_find_for(shipped, "piston", "node-js") == rn_specs_find(shipped, "javascript"));
    CHECK(rn_specs_find_judge0(shipped, 71) == rn_specs_find(shipped, "python3"));
    CHECK(rn_specs_find_judge0(shipped, 54) == rn_specs_find(shipped, "cpp"));
    CHECK(rn_specs_find_judge0(shipped, 66) == rn_specs_find(shipped, "octave"));
    CHECK(rn_specs_find_for(shipped, "jobe", "nodejs") == rn_specs_find(shipped, "javascript"));
    CHECK(rn_specs_find_for(shipped, "jobe", "octave") == rn_specs_find(shipped, "octave"));
    CHECK(rn_specs_find_for(shipped, "linkis", "pyspark") == rn_specs_find(shipped, "python3"));
    /* every Judge0 CE 1.13.1 id Debian 12 has a language for */
    static const int ids[] = {43, 45, 46, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58,
                              59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 71, 72, 73,
                              74, 75, 76, 77, 78, 79, 80, 81, 82, 85, 86, 88};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        if (rn_specs_find_judge0(shipped, ids[i]) == NULL)
            fprintf(stderr, "  no language for Judge0 id %d\n", ids[i]);
        CHECK(rn_specs_find_judge0(shipped, ids[i]) != NULL);
    }
}

static void test_shipped_lookup(void)
{
    errlines e = {0};
    int rc = rn_specs_load(SPECS_DIR, false, collect, &e, &shipped);

    CHECK_INT(rc, 0);
    CHECK_INT(e.n, 0);
    for (int i = 0; i < e.n; i++)
        fprintf(stderr, "  %s\n", e.lines[i]);
    REQUIRE(shipped != NULL);
    CHECK(rn_specs_count(shipped) >= 70);
    for (size_t i = 0; i < sizeof(ranna_keys) / sizeof(ranna_keys[0]); i++) {
        const rn_spec *sp = rn_specs_find(shipped, ranna_keys[i][0]);

        if (sp == NULL)
            fprintf(stderr, "  no language for '%s'\n", ranna_keys[i][0]);
        CHECK(sp != NULL);
        if (sp != NULL)
            CHECK_STR(sp->name, ranna_keys[i][1]);
    }
    /* Case does not matter. */
    CHECK(rn_specs_find(shipped, "PY") == rn_specs_find(shipped, "python3"));
    CHECK(rn_specs_find(shipped, "Python3") == rn_specs_find(shipped, "python3"));
    CHECK(rn_specs_find(shipped, "C++") == rn_specs_find(shipped, "cpp"));
    CHECK(rn_specs_find(shipped, "OpenJDK-17") == rn_specs_find(shipped, "java"));
    CHECK(rn_specs_find(shipped, "JavaScript") == rn_specs_find(shipped, "javascript"));
    CHECK(rn_specs_find(shipped, "cobolx") == NULL);
    for (size_t i = 0; i < rn_specs_count(shipped); i++) {
        const rn_spec *sp = rn_specs_at(shipped, i);

        CHECK(sp->example != NULL && sp->example[0] != '\0');
        CHECK(sp->example_output != NULL);
        CHECK(sp->packages[0] != NULL);
        CHECK(sp->version_cmd != NULL);
    }
}

static const rn_spec *lang(const char *name)
{
    const rn_spec *sp = rn_specs_find(shipped, name);

    if (sp == NULL)
        fprintf(stderr, "  shipped spec '%s' missing\n", name);
    return sp;
}

static void test_shipped_inline(void)
{
    const rn_spec *sp;

    REQUIRE(shipped != NULL);
    /* ranna's seed example, with its import hoisted. */
    if ((sp = lang("go")) != NULL)
        check_wrap(sp,
                   "import \"time\"\nfor i := 0; i < 5; i++ {\n\tprintln(i)\n\ttime.Sleep(time."
                   "Second)\n}",
                   "package main\nimport \"time\"\nfunc main() {\nfor i := 0; i < 5; i++ {\n\t"
                   "println(i)\n\ttime.Sleep(time.Second)\n}}");
    if ((sp = lang("golang")) != NULL)
        check_wrap(sp,
                   "import (\n\t\"fmt\"\n\t\"strings\"\n)\nimport \"os\"\nfmt.Println(strings."
                   "ToUpper(os.Args[0]))",
                   "package main\nimport (\n\t\"fmt\"\n\t\"strings\"\n)\nimport \"os\"\nfunc "
                   "main() {\n\nfmt.Println(strings.ToUpper(os.Args[0]))}");
    /* Every #include line is hoisted (ranna's own cpp regex only matched a
     * lone include). */
    if ((sp = lang("cpp")) != NULL)
        check_wrap(sp,
                   "#include <iostream>\n#include \"x.h\"\nstd::cout << 1;\n  # include "
                   "<vector>\nstd::vector<int> v;",
                   "#include <iostream>\n#include \"x.h\"\n  # include <vector>\nint main() {\n  "
                   "\n\nstd::cout << 1;\n\nstd::vector<int> v;\n  return 0;\n}");
    if ((sp = lang("c")) != NULL)
        check_wrap(sp, "#include <math.h>\nprintf(\"%.0f\\n\", sqrt(16.0));",
                   "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include "
                   "<math.h>\nint main(int argc, char **argv) {\n  (void)argc; (void)argv;\n  "
                   "\nprintf(\"%.0f\\n\", sqrt(16.0));\n  return 0;\n}\n");
    if ((sp = lang("java")) != NULL)
        check_wrap(sp,
                   "import java.util.*;\nimport static java.lang.Math.max;\nSystem.out.println(1);",
                   "import java.util.*;\nimport static java.lang.Math.max;\npublic class Main {\n"
                   "    public static void main(String[] args) throws Exception {\n        \n\n"
                   "System.out.println(1);\n    }\n}\n");
    if ((sp = lang("mono")) != NULL)
        check_wrap(sp, "using System;\nusing System.Linq;\nConsole.WriteLine(1);",
                   "using System;\nusing System.Linq;\nnamespace HelloWorld\n{\n    class Hello "
                   "{\n        static void Main(string[] args)\n        {\n            \n\n"
                   "Console.WriteLine(1);\n        }\n    }\n}");
    if ((sp = lang("rust")) != NULL)
        check_wrap(sp, "use std::collections::HashMap;\nlet m: HashMap<i32, i32> = HashMap::new();",
                   "use std::collections::HashMap;\nfn main() {\n\nlet m: HashMap<i32, i32> = "
                   "HashMap::new();\n}\n");
    if ((sp = lang("kotlin")) != NULL)
        check_wrap(sp, "import kotlin.math.sqrt\nprintln(sqrt(4.0))",
                   "import kotlin.math.sqrt\nfun main(args: Array<String>) {\n\nprintln(sqrt(4.0))"
                   "\n}\n");
    /* Scripting languages: the template is the identity. */
    if ((sp = lang("python3")) != NULL)
        check_wrap(sp, "import os\nprint(1)\n", "import os\nprint(1)\n");
    if ((sp = lang("php")) != NULL)
        check_wrap(sp, "echo 1;", "<?php\n  echo 1;\n?>");
}

static void test_expand_argv(void)
{
    const char *args[] = {"a b", "", "{file}"};
    char **argv = NULL;
    const rn_spec *sp;
    char err[256];
    int rc;
    rn_spec *own = parse("{\"name\":\"x\",\"display\":\"X\",\"language\":\"x\",\"filename\":"
                         "\"Main.java\",\"run\":[\"{args}\",\"-d{build}\",\"{file}:{file}\","
                         "\"{args}\",\"{other}\"],\"example\":\"e\",\"example_output\":\"\"}",
                         err, sizeof(err), &rc);

    REQUIRE(own != NULL);
    rc = rn_spec_expand_argv(own, own->run, args, 3, &argv);
    CHECK_INT(rc, 0);
    REQUIRE(argv != NULL);
    CHECK_STR(argv[0], "a b");
    CHECK_STR(argv[1], "");
    CHECK_STR(argv[2], "{file}"); /* arguments are not expanded */
    CHECK_STR(argv[3], "-d/build");
    CHECK_STR(argv[4], "Main.java:Main.java");
    CHECK_STR(argv[5], "a b");
    CHECK_STR(argv[8], "{other}");
    CHECK(argv[9] == NULL);
    rn_argv_free(argv);

    rc = rn_spec_expand_argv(own, own->run, NULL, 0, &argv);
    CHECK_INT(rc, 0);
    REQUIRE(argv != NULL);
    CHECK_STR(argv[0], "-d/build");
    CHECK(argv[3] == NULL);
    rn_argv_free(argv);
    CHECK_INT(rn_spec_expand_argv(own, own->compile, NULL, 0, &argv), -EINVAL);
    rn_spec_free(own);

    REQUIRE(shipped != NULL);
    if ((sp = lang("c")) != NULL) {
        rc = rn_spec_expand_argv(sp, sp->compile, NULL, 0, &argv);
        CHECK_INT(rc, 0);
        REQUIRE(argv != NULL);
        CHECK_STR(argv[0], "/usr/bin/gcc");
        bool has_out = false, has_src = false;
        for (char **a = argv; *a != NULL; a++) {
            has_out |= strcmp(*a, "/build/main") == 0;
            has_src |= strcmp(*a, "main.c") == 0;
        }
        CHECK(has_out && has_src);
        rn_argv_free(argv);
        rc = rn_spec_expand_argv(sp, sp->run, args, 1, &argv);
        CHECK_INT(rc, 0);
        REQUIRE(argv != NULL);
        CHECK_STR(argv[0], "/build/main");
        CHECK_STR(argv[1], "a b");
        CHECK(argv[2] == NULL);
        rn_argv_free(argv);
    }
}

static void test_expand_sources(void)
{
    const char *names[] = {"lib/b.c", "notes.txt", "a.c", "lib/b.h", "c.cc", "d.c"};
    char **argv = NULL;
    char err[256];
    int rc;
    rn_spec *own = parse("{\"name\":\"x\",\"display\":\"X\",\"language\":\"x\",\"filename\":"
                         "\"main.c\",\"compile\":[\"cc\",\"{sources}\",\"-o\",\"{build}/m\"],"
                         "\"run\":[\"{main_kt}\",\"{main}\"],\"example\":\"e\","
                         "\"example_output\":\"\"}",
                         err, sizeof(err), &rc);

    REQUIRE(own != NULL);
    /* the entry first, then the other files with its extension, in order */
    rc = rn_spec_expand_argv_src(own, own->compile, "a.c", names, 6, NULL, 0, &argv);
    CHECK_INT(rc, 0);
    REQUIRE(argv != NULL);
    CHECK_STR(argv[0], "cc");
    CHECK_STR(argv[1], "a.c");
    CHECK_STR(argv[2], "lib/b.c");
    CHECK_STR(argv[3], "d.c");
    CHECK_STR(argv[4], "-o");
    CHECK_STR(argv[5], "/build/m");
    CHECK(argv[6] == NULL);
    rn_argv_free(argv);
    /* no entry name: the spec's filename; no files: the entry alone */
    rc = rn_spec_expand_argv_src(own, own->compile, NULL, NULL, 0, NULL, 0, &argv);
    CHECK_INT(rc, 0);
    REQUIRE(argv != NULL);
    CHECK_STR(argv[1], "main.c");
    CHECK_STR(argv[2], "-o");
    rn_argv_free(argv);
    /* Kotlin's class for the entry's top level */
    const struct {
        const char *file, *kt, *main;
    } kt[] = {{"main.kt", "MainKt", "main"},
              {"prog.kt", "ProgKt", "prog"},
              {"src/my-app.kt", "My_appKt", "src/my-app"},
              {"Foo.kt", "FooKt", "Foo"},
              {"9lives.kt", "9livesKt", "9lives"}};
    for (size_t i = 0; i < sizeof(kt) / sizeof(kt[0]); i++) {
        rc = rn_spec_expand_argv_as(own, own->run, kt[i].file, NULL, 0, &argv);
        CHECK_INT(rc, 0);
        REQUIRE(argv != NULL);
        CHECK_STR(argv[0], kt[i].kt);
        CHECK_STR(argv[1], kt[i].main);
        rn_argv_free(argv);
    }
    rn_spec_free(own);
}

int main(void)
{
    RUN_TEST(test_parse_good);
    RUN_TEST(test_parse_bad);
    RUN_TEST(test_load_dir);
    RUN_TEST(test_inline_semantics);
    RUN_TEST(test_names_parse);
    RUN_TEST(test_names_clash);
    RUN_TEST(test_shipped_lookup);
    RUN_TEST(test_shipped_names);
    RUN_TEST(test_shipped_inline);
    RUN_TEST(test_expand_argv);
    RUN_TEST(test_expand_sources);
    rn_specs_free(shipped);
    return check_report();
}
