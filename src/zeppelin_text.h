/* Pieces of the Zeppelin envelope that need neither the server nor the
 * jobs: splitting a paragraph's text into its %interpreter and script,
 * Zeppelin's interpreter names mapped onto runnel languages, and Zeppelin's
 * date format. */
#ifndef RUNNEL_ZEPPELIN_TEXT_H
#define RUNNEL_ZEPPELIN_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* The target of an interpreter that echoes its text without a sandbox. */
#define ZP_TARGET_TEXT "text"

/* Split text as Zeppelin's ParagraphTextParser does: an optional leading
 * "%name" (letters, digits, _ and -, then .word parts) and an optional
 * "(k=v, ...)" of local properties right after it, which are skipped. The
 * name goes to name ("" when there is none); *script is the offset of the
 * script, after leading white space. -EINVAL when the properties are not
 * closed, -ENAMETOOLONG when the name does not fit. */
int zp_text_parse(const char *text, size_t len, char *name, size_t size, size_t *script);

/* The runnel language (spec name) a Zeppelin interpreter name stands for,
 * ZP_TARGET_TEXT, or NULL when the name is not in the built-in table. The
 * name must be lower case. */
const char *zp_builtin_target(const char *name);

/* The built-in table, for listings: entry i's name and target; NULL past
 * the end. */
const char *zp_builtin_at(size_t i, const char **target);

/* Format epoch milliseconds as Zeppelin does, "2019-03-08T16:29:16+0800",
 * in the server's time zone. */
void zp_format_date(int64_t ms, char *buf, size_t size);

#endif
