/* Unit tests of the Zeppelin envelope's text pieces: %interpreter parsing as
 * Zeppelin's ParagraphTextParser does it, the built-in interpreter table and
 * Zeppelin's date format. */
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../unit/check.h"
#include "zeppelin_text.h"

static char name_[128];
static const char *script_;

static int parse(const char *text)
{
    size_t off = 0;
    int r = zp_text_parse(text, strlen(text), name_, sizeof(name_), &off);
    script_ = text + off;
    return r;
}

static void test_parse(void)
{
    CHECK_INT(parse("%python\nprint(1)\n"), 0);
    CHECK_STR(name_, "python");
    CHECK_STR(script_, "print(1)\n");
    CHECK_INT(parse("  \n %spark.pyspark   x = 1"), 0);
    CHECK_STR(name_, "spark.pyspark");
    CHECK_STR(script_, "x = 1");
    CHECK_INT(parse("%sh(k=v, q=\"a,b)\", flag) echo hi"), 0);
    CHECK_STR(name_, "sh");
    CHECK_STR(script_, "echo hi");
    CHECK_INT(parse("%sh(k='it\\'s)') ls"), 0);
    CHECK_STR(script_, "ls");
    CHECK_INT(parse("%sh(k=1\necho"), -EINVAL);
    CHECK_INT(parse("print('no interpreter')"), 0);
    CHECK_STR(name_, "");
    CHECK_STR(script_, "print('no interpreter')");
    CHECK_INT(parse("% python"), 0); /* not a name: all script */
    CHECK_STR(name_, "");
    CHECK_INT(parse("%md"), 0);
    CHECK_STR(name_, "md");
    CHECK_STR(script_, "");
    CHECK_INT(parse("%a-b_c.d.e2 z"), 0);
    CHECK_STR(name_, "a-b_c.d.e2");
    CHECK_INT(parse("%x. y"), 0); /* a dot without a word is not part of it */
    CHECK_STR(name_, "x");
    CHECK_STR(script_, ". y");
    char long_name[300] = "%";
    memset(long_name + 1, 'a', 200);
    CHECK_INT(parse(long_name), -ENAMETOOLONG);
}

static void test_builtin(void)
{
    CHECK_STR(zp_builtin_target("python"), "python3");
    CHECK_STR(zp_builtin_target("spark.pyspark"), "python3");
    CHECK_STR(zp_builtin_target("sh"), "bash");
    CHECK_STR(zp_builtin_target("sql"), "sqlite");
    CHECK_STR(zp_builtin_target("md"), ZP_TARGET_TEXT);
    CHECK_STR(zp_builtin_target("markdown"), ZP_TARGET_TEXT);
    CHECK(zp_builtin_target("javascript") == NULL);
    CHECK(zp_builtin_target("Python") == NULL); /* callers lower-case */
    const char *target = NULL;
    size_t n = 0;
    while (zp_builtin_at(n, &target))
        n++;
    CHECK(n > 20);
    CHECK(zp_builtin_at(n, &target) == NULL);
}

static void test_date(void)
{
    char buf[40];
    regex_t re;
    REQUIRE(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{4}$",
                    REG_EXTENDED) == 0);
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    zp_format_date(1552033756000LL, buf, sizeof(buf));
    /* /usr/share/zoneinfo may be absent: then TZ falls back to UTC */
    CHECK(!strcmp(buf, "2019-03-08T16:29:16+0800") || !strcmp(buf, "2019-03-08T08:29:16+0000"));
    setenv("TZ", "UTC", 1);
    tzset();
    zp_format_date(1552033756999LL, buf, sizeof(buf));
    CHECK_STR(buf, "2019-03-08T08:29:16+0000");
    CHECK(regexec(&re, buf, 0, NULL, 0) == 0);
    regfree(&re);
}

int main(void)
{
    RUN_TEST(test_parse);
    RUN_TEST(test_builtin);
    RUN_TEST(test_date);
    return check_report();
}
