/* Language specs: one JSON file per language in a directory (specs/NAME.json).
 *
 * A spec says how to turn (code, arguments) into one or two sandboxed stages.
 * Placeholders in compile/run argv elements:
 *   {file}  the source file name (the spec's filename), relative to /work
 *   {build} the directory compiled artifacts live in: "/build" (writable in
 *           the compile stage, read-only in the run stage)
 *   {args}  only as a whole element: replaced by the request's arguments,
 *           each as its own argv element (zero or more)
 *   {main}  the entry file's name without its extension (Java's class)
 *   {main_kt} the class Kotlin makes of the entry file's top level
 *           ("prog.kt" -> ProgKt)
 *   {sources} only as a whole element: the entry file, then every other
 *           file of the job with the entry file's extension, in request
 *           order (compilers that take all of a program's files)
 * A mount's src may start with {runtimes}: the runtimes/ directory beside the
 * specs directory (<dir>/../runtimes), resolved by rn_specs_load.
 * Inline templates use ranna's literal placeholders $${CODE} and $${IMPORTS};
 * import_regex is a POSIX extended regex matched line by line (REG_NEWLINE).
 */
#ifndef RUNNEL_SPECS_H
#define RUNNEL_SPECS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../sandbox/box.h"

/* Limits a spec may override; 0 means "the server default". */
typedef struct {
    uint64_t wall_ms;
    uint64_t cpu_ms;
    uint64_t memory_bytes;
    uint64_t output_bytes;
    uint64_t tmp_bytes;
    unsigned pids;
    unsigned nofile;
} rn_spec_limits;

/* The language under Piston's names (GET /api/v2/runtimes). */
typedef struct {
    char *language; /* e.g. "python", "c++" */
    char **aliases; /* NULL-terminated, may be empty */
    char *runtime;  /* the package that provides it ("gcc", "node"), or NULL */
} rn_spec_piston;

/* One Judge0 CE language id the spec answers to. */
typedef struct {
    int id;        /* e.g. 71 */
    char idstr[8]; /* the same in decimal, e.g. "71" */
    char *name;    /* Judge0's name for it, e.g. "Python (3.8.1)" */
} rn_spec_judge0;

/* What each envelope calls the language (the spec's "names" table). */
typedef struct {
    char **ranna;           /* keys that are full entries in ranna's GET /v1/spec; never
                               empty (default: the spec's name) */
    rn_spec_piston *piston; /* NULL when Piston has no such language */
    rn_spec_judge0 *judge0; /* njudge0 ids */
    size_t njudge0;
    char *jobe;      /* Jobe's language id, or NULL */
    char **linkis;   /* Linkis runTypes, NULL-terminated, may be empty */
    char **zeppelin; /* Zeppelin interpreter names, NULL-terminated, may be empty */
} rn_spec_names;

typedef struct {
    char *name;          /* the key, e.g. "python3" */
    char *display;       /* e.g. "Python 3" */
    char *language;      /* ranna's "language" meta, e.g. "python" */
    char **aliases;      /* NULL-terminated */
    char *filename;      /* e.g. "main.py" */
    char **compile;      /* NULL-terminated argv, or NULL when interpreted */
    char **run;          /* NULL-terminated argv */
    char **env;          /* NULL-terminated "K=V" */
    rn_box_bind *mounts; /* extra read-only binds the toolchain needs */
    size_t nmounts;
    rn_spec_limits limits;
    rn_spec_limits compile_limits;
    char *inline_import_regex; /* NULL when none */
    char *inline_template;     /* NULL when the language has no template */
    char *example;
    char *example_output;
    char **packages;    /* Debian packages, NULL-terminated */
    char **version_cmd; /* NULL-terminated argv, run on the host (specs_version.h) */
    char *version;      /* its first line of output; "" until known */
    bool available;     /* every argv[0] of compile and run exists */
    char *missing; /* when !available: what is missing, e.g. "/usr/bin/ghc (apt install ghc)" */
    char *path;    /* the file it was loaded from */
    rn_spec_names names;
} rn_spec;

typedef struct rn_specs rn_specs;

/* Called once per problem found while loading, e.g. "specs/foo.json: field
 * 'run': must be a non-empty array of strings". */
typedef void (*rn_specs_error_fn)(void *ud, const char *line);

/* Load every *.json in dir except schema.json. A bad file is reported through
 * err and skipped; the others still load. detect_versions runs each
 * version_cmd on the host now (blocking, bounded to 5 s in all; runneld
 * passes false and uses specs_version.h off its loop). Returns 0 even when
 * some files were skipped; -errno only when dir cannot be read. */
int rn_specs_load(const char *dir, bool detect_versions, rn_specs_error_fn err, void *ud,
                  rn_specs **out);

/* Parse one spec from JSON text; on error returns -EINVAL and writes a
 * one-line reason naming the field into errbuf. */
int rn_spec_parse(const char *json, size_t len, rn_spec **out, char *errbuf, size_t errsize);

/* Free a spec made by rn_spec_parse. */
void rn_spec_free(rn_spec *spec);

/* Free all specs. */
void rn_specs_free(rn_specs *specs);

/* Number of languages (not counting aliases). */
size_t rn_specs_count(const rn_specs *specs);

/* The i-th language in name order. */
const rn_spec *rn_specs_at(const rn_specs *specs, size_t i);

/* Find by name or alias, case-insensitively, including ranna's own keys
 * (names.ranna: python3, node, golang, openjdk-17, mono, deno, ...); NULL if
 * unknown. */
const rn_spec *rn_specs_find(const rn_specs *specs, const char *name);

/* The envelopes a spec's "names" table has a column for. */
#define RN_NAMES_ENVELOPES "ranna", "piston", "judge0", "jobe", "linkis", "zeppelin"

/* Find by what one envelope calls the language: "ranna" (its keys, then
 * rn_specs_find), "piston" (language or alias, case-insensitive), "judge0"
 * (the id in decimal), "jobe", "linkis", "zeppelin" (case-insensitive).
 * NULL when no spec has that name there, or the envelope is unknown. */
const rn_spec *rn_specs_find_for(const rn_specs *specs, const char *envelope, const char *name);

/* The spec a Judge0 language id stands for, or NULL. */
const rn_spec *rn_specs_find_judge0(const rn_specs *specs, int id);

/* The i-th name of the spec under an envelope, or NULL past the last:
 * ranna keys; Piston's language then its aliases; Judge0 ids in decimal;
 * the Jobe id; Linkis runTypes; Zeppelin interpreter names. */
const char *rn_spec_name_for(const rn_spec *spec, const char *envelope, size_t i);

/* Wrap code into the spec's inline template with ranna's semantics (imports
 * matched by import_regex anywhere in the code are removed from it and
 * joined with "\n" into $${IMPORTS}; every $${CODE} gets the rest). Returns
 * -ENOTSUP when the spec has no template. *out is malloc'd. */
int rn_spec_wrap_inline(const rn_spec *spec, const char *code, size_t len, char **out,
                        size_t *outlen);

/* Expand an argv template (spec->compile or spec->run) into a malloc'd,
 * NULL-terminated argv (free with rn_argv_free). */
int rn_spec_expand_argv(const rn_spec *spec, char *const *tmpl, const char *const *args,
                        size_t nargs, char ***out);

/* The same with file as the entry file's name instead of the spec's
 * filename ({file} and {main}, its name without the extension); NULL = the
 * spec's. */
int rn_spec_expand_argv_as(const rn_spec *spec, char *const *tmpl, const char *file,
                           const char *const *args, size_t nargs, char ***out);

/* The same with names (nnames, the job's other files) for {sources}. */
int rn_spec_expand_argv_src(const rn_spec *spec, char *const *tmpl, const char *file,
                            const char *const *names, size_t nnames, const char *const *args,
                            size_t nargs, char ***out);

/* The language's Jobe id: names.jobe, else the spec's name. */
const char *rn_spec_jobe_id(const rn_spec *spec);

/* Free an argv from rn_spec_expand_argv. */
void rn_argv_free(char **argv);

/* Find a program: an absolute path is checked as is, a bare name is searched
 * in /usr/bin, /bin and /usr/local/bin. *out is the malloc'd absolute path;
 * -ENOENT when it is not there. */
int rn_spec_resolve_program(const char *prog, char **out);

/* Set spec->available and spec->missing from what is installed now (argv[0]
 * of compile and run, other arguments that are paths under /usr/, and
 * non-optional mounts), turning bare argv[0] names into absolute paths.
 * rn_specs_load does this for every spec it loads. */
int rn_spec_check_available(rn_spec *spec);

#endif
