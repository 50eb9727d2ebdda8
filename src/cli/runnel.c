/* runnel: run a file on a runnel server from a terminal.
 *
 * Speaks the ranna protocol: GET /v1/spec for the language list (and to
 * guess a file's language), then one WebSocket at /v1/ws with an EXEC whose
 * LOG events are copied to stdout/stderr as they arrive. The exit status is
 * the program's own, or one of the codes below (see docs/cli.md). */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <libwebsockets.h>

#include "cli_client.h"
#include "util.h"
#include "version.h"
#define RUNNEL_CLI_VERSION RUNNEL_VERSION

static volatile sig_atomic_t interrupts, interrupt_sig;

/* --- run state --- */
static struct {
    bool spawned, stopped, kill_sent, kill_wanted;
    char runid[80];
    int status;
    bool status_set;
    double kill_at;
    bool write_failed;
    bool ponged;
    double ping_sent;
} run;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: runnel run [--lang L] [--stdin FILE] [--server URL] [-v] FILE|- [-- ARGS...]\n"
            "       runnel langs [--server URL]\n"
            "       runnel ping [--server URL]\n"
            "\n"
            "Run code on a runnel server and stream its output here.\n"
            "\n"
            "  run FILE     run FILE (- reads the code from standard input); its stdout\n"
            "               and stderr arrive on runnel's, and runnel exits with its status\n"
            "  langs        list the server's languages and versions\n"
            "  ping         check that the server answers\n"
            "\n"
            "  -l, --lang L       language (default: from the #! line or the file's extension)\n"
            "  -i, --stdin FILE   feed FILE (- for standard input) to the program's stdin\n"
            "  -s, --server URL   server (default $RUNNEL_SERVER or " DEFAULT_SERVER ")\n"
            "  -v, --verbose      print exit status, times and memory at the end\n"
            "  -h, --help         print this help\n"
            "      --version      print the version\n"
            "\n"
            "Ctrl+C kills the run on the server and waits for it to stop.\n"
            "$RUNNEL_TOKEN, when set, is sent as a bearer token.\n"
            "\n"
            "Exit status: the program's own; 128+N when it died of signal N;\n"
            "  2 usage, 66 unreadable input, 69 cannot connect or connection lost,\n"
            "  70 server error, 75 server busy (retry later), 124 wall-time limit,\n"
            "  125 CPU, memory, output or code-size limit, 126 compile error,\n"
            "  127 unknown or unavailable language, 130 interrupted (Ctrl+C).\n");
}

/* ------------------------------------------------------------- helpers */

/* Read a whole file ("-" = standard input) into a NUL-terminated buffer. */
static int read_all(const char *path, char **out, size_t *len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f)
        return -errno;
    int r = rn_read_stream(f, MAX_FILE_BYTES, out, len);
    if (f != stdin)
        fclose(f);
    return r;
}

static void on_signal(int sig)
{
    interrupts++;
    interrupt_sig = sig;
    if (interrupts >= 2) {
        static const char msg[] = "\nrunnel: interrupted again, leaving without waiting\n";
        ssize_t w = write(2, msg, sizeof(msg) - 1);
        (void)w;
        _exit(128 + sig);
    }
}

/* ------------------------------------------------------------- GET /v1/spec */

/* The server's specs as parsed JSON, or NULL with a message (exit code in rc). */
static cJSON *fetch_specs(int *rc)
{
    char desc[700];
    cJSON *root = NULL;
    *rc = 0;
    free(cl.body);
    cl.body = NULL;
    cl.body_len = cl.body_cap = 0;
    cl.body_oom = false;
    if (connect_to(MODE_HTTP, cl.spec_path) < 0) {
        die_msg("cannot connect to %s: %s", server_desc(desc, sizeof(desc)), cl.conn_error);
        *rc = EXIT_CONNECT;
        return NULL;
    }
    while (!cl.done)
        lws_service(cl.ctx, SERVICE_TICK_MS);
    if (cl.conn_error[0] && !cl.http_status) {
        die_msg("cannot connect to %s: %s", server_desc(desc, sizeof(desc)), cl.conn_error);
        *rc = EXIT_CONNECT;
        return NULL;
    }
    if (cl.http_status == 401 || cl.http_status == 403) {
        die_msg("%s refused the request (HTTP %d): set RUNNEL_TOKEN",
                server_desc(desc, sizeof(desc)), cl.http_status);
        *rc = EXIT_SERVER;
        return NULL;
    }
    if (cl.http_status != 200 || cl.body_oom) {
        die_msg("GET %s%s: HTTP %d", server_desc(desc, sizeof(desc)), "/v1/spec", cl.http_status);
        *rc = EXIT_SERVER;
        return NULL;
    }
    root = cJSON_ParseWithLength(cl.body ? cl.body : "", cl.body_len);
    if (!cJSON_IsObject(root)) {
        die_msg("GET %s/v1/spec: not a JSON object", server_desc(desc, sizeof(desc)));
        cJSON_Delete(root);
        *rc = EXIT_SERVER;
        return NULL;
    }
    return root;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The spec key a name (or alias) stands for, or NULL. */
static const char *spec_resolve(const cJSON *specs, const char *name)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(specs, name);
    if (!cJSON_IsObject(s))
        return NULL;
    const char *use = jstr(s, "use");
    return use ? use : s->string;
}

/* The interpreter a "#!" line names (basename; after env), or "". */
static void shebang_interp(const char *code, char *out, size_t size)
{
    out[0] = 0;
    if (strncmp(code, "#!", 2))
        return;
    char line[256];
    size_t n = strcspn(code + 2, "\r\n");
    if (n >= sizeof(line))
        n = sizeof(line) - 1;
    memcpy(line, code + 2, n);
    line[n] = 0;
    char *save = NULL;
    for (char *w = strtok_r(line, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        const char *base = strrchr(w, '/') ? strrchr(w, '/') + 1 : w;
        if (!strcmp(base, "env") || base[0] == '-' || strchr(base, '='))
            continue;
        snprintf(out, size, "%s", base);
        return;
    }
}

/* Guess the language of a file from its #! line, then from its extension
 * matched against the specs' file names. */
static const char *guess_language(const cJSON *specs, const char *path, const char *code)
{
    char interp[128];
    shebang_interp(code, interp, sizeof(interp));
    if (interp[0]) {
        const char *k = spec_resolve(specs, interp);
        if (k)
            return k;
    }
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    const char *ext = strrchr(base, '.');
    if (!ext || ext == base || !ext[1])
        return NULL;
    /* Several specs may share an extension (.sh): prefer the one the
     * extension names, then an available one, then the first. */
    const char *first = NULL, *first_avail = NULL;
    for (int pass = 0; pass < 2; pass++) {
        for (const cJSON *s = specs->child; s; s = s->next) {
            const char *fn = jstr(s, "filename");
            const char *fext = fn ? strrchr(fn, '.') : NULL;
            if (!fext || (pass == 0 ? strcmp(fext, ext) : strcasecmp(fext, ext)))
                continue;
            const char *named = spec_resolve(specs, ext + 1);
            if (named && !strcmp(named, s->string))
                return s->string;
            if (!first)
                first = s->string;
            if (!first_avail && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "available")))
                first_avail = s->string;
        }
        if (first)
            break;
    }
    return first_avail ? first_avail : first;
}

/* ------------------------------------------------------------- langs */

/* An entry of GET /v1/spec that is the language itself (not an alias, not
 * a ranna key that repeats it). */
static bool is_language_entry(const cJSON *s)
{
    const char *name = jstr(s, "name");
    return !jstr(s, "use") && (!name || !strcmp(name, s->string));
}

/* Append ", "-separated strings of a JSON array to out. */
static size_t join_strs(char *out, size_t size, size_t o, const char *label, const cJSON *arr)
{
    const cJSON *a;
    bool first = true;
    cJSON_ArrayForEach(a, arr)
    {
        char num[16];
        const char *v = cJSON_IsString(a) ? a->valuestring : NULL;
        if (!v && cJSON_IsObject(a) && cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(a, "id"))) {
            snprintf(num, sizeof(num), "%d", cJSON_GetObjectItemCaseSensitive(a, "id")->valueint);
            v = num;
        }
        if (!v || o + strlen(v) + strlen(label) + 4 >= size)
            continue;
        o += (size_t)snprintf(out + o, size - o, "%s%s%s", first ? (o ? "; " : "") : ",",
                              first ? label : "", v);
        first = false;
    }
    return o;
}

/* What each envelope calls the language, on one line. */
static void names_line(const cJSON *s, char *out, size_t size)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(s, "names");
    size_t o = 0;
    out[0] = 0;
    if (!cJSON_IsObject(n))
        return;
    const cJSON *ranna = cJSON_GetObjectItemCaseSensitive(n, "ranna");
    if (cJSON_GetArraySize(ranna) > 1 ||
        (cJSON_GetArraySize(ranna) == 1 && cJSON_IsString(cJSON_GetArrayItem(ranna, 0)) &&
         strcmp(cJSON_GetArrayItem(ranna, 0)->valuestring, s->string)))
        o = join_strs(out, size, o, "ranna ", ranna);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(n, "piston");
    const char *pl = cJSON_IsObject(p) ? jstr(p, "language") : NULL;
    if (pl && o + strlen(pl) + 12 < size)
        o += (size_t)snprintf(out + o, size - o, "%spiston %s", o ? "; " : "", pl);
    o = join_strs(out, size, o, "judge0 ", cJSON_GetObjectItemCaseSensitive(n, "judge0"));
    const char *jobe = jstr(n, "jobe");
    if (jobe && o + strlen(jobe) + 10 < size)
        o += (size_t)snprintf(out + o, size - o, "%sjobe %s", o ? "; " : "", jobe);
    o = join_strs(out, size, o, "linkis ", cJSON_GetObjectItemCaseSensitive(n, "linkis"));
    join_strs(out, size, o, "zeppelin ", cJSON_GetObjectItemCaseSensitive(n, "zeppelin"));
}

static int cmd_langs(void)
{
    int rc;
    cJSON *specs = fetch_specs(&rc);
    if (!specs)
        return rc;
    int wname = 4, wver = 7;
    for (const cJSON *s = specs->child; s; s = s->next) {
        if (!is_language_entry(s))
            continue;
        const char *v = jstr(s, "version");
        if ((int)strlen(s->string) > wname)
            wname = (int)strlen(s->string);
        if (v && (int)strlen(v) > wver)
            wver = (int)strlen(v);
    }
    if (wver > 40)
        wver = 40;
    printf("%-*s  %-*s  %-10s  %-24s  %s\n", wname, "NAME", wver, "VERSION", "FILE", "ALIASES",
           "NAMES");
    for (const cJSON *s = specs->child; s; s = s->next) {
        if (!is_language_entry(s))
            continue;
        const char *v = jstr(s, "version");
        const char *fn = jstr(s, "filename");
        bool avail = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "available"));
        char aliases[512] = "", names[512];
        size_t o = 0;
        const cJSON *al = cJSON_GetObjectItemCaseSensitive(s, "aliases");
        const cJSON *a;
        cJSON_ArrayForEach(a, al)
        {
            if (cJSON_IsString(a) && o + strlen(a->valuestring) + 3 < sizeof(aliases))
                o += (size_t)snprintf(aliases + o, sizeof(aliases) - o, "%s%s", o ? ", " : "",
                                      a->valuestring);
        }
        names_line(s, names, sizeof(names));
        printf("%-*s  %-*.*s  %-10s  %-24s  %s\n", wname, s->string, wver, wver,
               avail ? (v && v[0] ? v : "?") : "(not installed)", fn ? fn : "", aliases, names);
    }
    cJSON_Delete(specs);
    return 0;
}

/* ------------------------------------------------------------- ping */

static void ping_message(const char *msg, size_t len)
{
    cJSON *ev = cJSON_ParseWithLength(msg, len);
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(ev, "code");
    if (cJSON_IsNumber(code) && code->valueint == 0)
        run.ponged = true;
    cJSON_Delete(ev);
    cl.done = true;
}

static int cmd_ping(void)
{
    char desc[700];
    cl.on_message = ping_message;
    queue_text("{\"op\":0,\"nonce\":1}");
    run.ping_sent = now_ms();
    if (connect_to(MODE_WS, cl.ws_path) < 0) {
        die_msg("cannot connect to %s: %s", server_desc(desc, sizeof(desc)), cl.conn_error);
        return EXIT_CONNECT;
    }
    double deadline = now_ms() + 15000;
    while (!cl.done && !cl.closed && now_ms() < deadline)
        lws_service(cl.ctx, SERVICE_TICK_MS);
    if (!run.ponged) {
        die_msg("no answer from %s: %s", server_desc(desc, sizeof(desc)),
                cl.conn_error[0] ? cl.conn_error : "no PONG");
        return EXIT_CONNECT;
    }
    printf("pong from %s in %.1f ms\n", server_desc(desc, sizeof(desc)), now_ms() - run.ping_sent);
    return 0;
}

/* ------------------------------------------------------------- run */

static void write_out(int fd, const char *data, size_t len)
{
    while (len && !run.write_failed) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            run.write_failed = true;
            break;
        }
        data += n;
        len -= (size_t)n;
    }
}

static int status_of_error(int code, const char *msg)
{
    if (strstr(msg, "unsupported language") || strstr(msg, "not installed"))
        return EXIT_NOLANG;
    if (code == 413)
        return EXIT_LIMIT;
    if (code == 429 || code == 503)
        return EXIT_BUSY;
    return EXIT_SERVER;
}

static void fmt_bytes(char *buf, size_t size, double b)
{
    if (b >= 1 << 20)
        snprintf(buf, size, "%.1f MiB", b / (1 << 20));
    else if (b >= 1 << 10)
        snprintf(buf, size, "%.1f KiB", b / (1 << 10));
    else
        snprintf(buf, size, "%.0f B", b);
}

static void on_stop(const cJSON *d)
{
    const char *reason = jstr(d, "reason");
    const char *message = jstr(d, "message");
    const cJSON *jexit = cJSON_GetObjectItemCaseSensitive(d, "exitcode");
    const cJSON *jsig = cJSON_GetObjectItemCaseSensitive(d, "signal");
    int exitcode = cJSON_IsNumber(jexit) ? jexit->valueint : -1;
    int sig = cJSON_IsNumber(jsig) ? jsig->valueint : 0;
    double wall = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(d, "exectimems"));
    double cpu = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(d, "cputimems"));
    double mem = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(d, "memorypeakbytes"));
    char note[300] = "";
    int st;
    if (!reason)
        reason = "";
    if (!strcmp(reason, "exited")) {
        st = exitcode >= 0 ? exitcode & 0xff : EXIT_SERVER;
    } else if (!strcmp(reason, "signaled")) {
        st = 128 + (sig & 0x7f);
        snprintf(note, sizeof(note), "the program died of signal %d", sig);
    } else if (!strcmp(reason, "timeout")) {
        st = EXIT_TIMEOUT;
        snprintf(note, sizeof(note), "the run hit the wall-time limit (%.0f ms)", wall);
    } else if (!strcmp(reason, "cpu_limit") || !strcmp(reason, "oom") ||
               !strcmp(reason, "output_limit")) {
        st = EXIT_LIMIT;
        snprintf(note, sizeof(note), "the run hit the %s",
                 !strcmp(reason, "oom")         ? "memory limit"
                 : !strcmp(reason, "cpu_limit") ? "CPU-time limit"
                                                : "output limit");
    } else if (!strcmp(reason, "compile_error")) {
        st = EXIT_COMPILE;
        snprintf(note, sizeof(note), "compilation failed");
    } else if (!strcmp(reason, "killed")) {
        st = run.kill_sent ? 128 + (interrupt_sig ? interrupt_sig : SIGINT) : EXIT_SERVER;
        snprintf(note, sizeof(note), "%s",
                 run.kill_sent ? "run killed" : "the server killed the run");
    } else {
        st = EXIT_SERVER;
        snprintf(note, sizeof(note), "the run failed on the server (%s)", reason[0] ? reason : "?");
    }
    /* The server's message only adds to the limits and failures. */
    bool own = !strcmp(reason, "signaled") || !strcmp(reason, "killed") ||
               !strcmp(reason, "compile_error");
    if (own || !message)
        message = NULL;
    if (note[0])
        die_msg("%s%s%s", note, message ? ": " : "", message ? message : "");
    if (cl.verbose) {
        char mb[32];
        fmt_bytes(mb, sizeof(mb), mem);
        die_msg("exit %d (%s), wall %.0f ms, cpu %.0f ms, peak memory %s", exitcode, reason, wall,
                cpu, mb);
    }
    run.status = st;
    run.status_set = true;
    run.stopped = true;
}

static void run_message(const char *msg, size_t len)
{
    cJSON *ev = cJSON_ParseWithLength(msg, len);
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(ev, "code");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(ev, "data");
    if (!cJSON_IsNumber(code))
        goto out;
    switch (code->valueint) {
    case 1: { /* ERROR */
        const cJSON *ec = cJSON_GetObjectItemCaseSensitive(data, "code");
        const char *m = jstr(data, "message");
        int c = cJSON_IsNumber(ec) ? ec->valueint : 500;
        if (run.spawned) {
            /* an answer to our KILL racing the STOP: not fatal */
            if (cl.verbose)
                die_msg("server: %s", m ? m : "error");
            break;
        }
        die_msg("server: %s", m ? m : "error");
        run.status = status_of_error(c, m ? m : "");
        run.status_set = true;
        run.stopped = true;
        break;
    }
    case 2: { /* SPAWN */
        const char *id = jstr(data, "runid");
        snprintf(run.runid, sizeof(run.runid), "%s", id ? id : "");
        run.spawned = true;
        break;
    }
    case 3: { /* LOG */
        const char *o = jstr(data, "stdout"), *e = jstr(data, "stderr");
        if (o)
            write_out(1, o, strlen(o));
        if (e)
            write_out(2, e, strlen(e));
        break;
    }
    case 4: /* STOP */
        on_stop(data);
        break;
    default:
        break;
    }
out:
    cJSON_Delete(ev);
}

static void send_kill(void)
{
    char *msg = NULL;
    cJSON *op = cJSON_CreateObject();
    cJSON *args = cJSON_AddObjectToObject(op, "args");
    cJSON_AddNumberToObject(op, "op", 2);
    cJSON_AddNumberToObject(op, "nonce", 2);
    if (args && cJSON_AddStringToObject(args, "runid", run.runid))
        msg = cJSON_PrintUnformatted(op);
    if (msg)
        queue_text(msg);
    free(msg);
    cJSON_Delete(op);
    run.kill_sent = true;
    run.kill_at = now_ms();
}

static int cmd_run(const char *lang, const char *file, const char *stdin_file, char **args,
                   int nargs)
{
    char *code = NULL, *input = NULL, *msg = NULL;
    size_t code_len = 0, input_len = 0;
    cJSON *specs = NULL, *op = NULL;
    char desc[700];
    int rc = 0, r;

    if (stdin_file && !strcmp(stdin_file, "-") && !strcmp(file, "-")) {
        die_msg("the code and --stdin cannot both come from standard input");
        return EXIT_USAGE;
    }
    if ((r = read_all(file, &code, &code_len)) < 0) {
        die_msg("cannot read %s: %s", strcmp(file, "-") ? file : "standard input", strerror(-r));
        rc = EXIT_NOINPUT;
        goto out;
    }
    if (strlen(code) != code_len) {
        die_msg("%s contains a NUL byte: runnel sends code as text", file);
        rc = EXIT_NOINPUT;
        goto out;
    }
    if (stdin_file && (r = read_all(stdin_file, &input, &input_len)) < 0) {
        die_msg("cannot read %s: %s", strcmp(stdin_file, "-") ? stdin_file : "standard input",
                strerror(-r));
        rc = EXIT_NOINPUT;
        goto out;
    }
    if (input && strlen(input) != input_len) {
        die_msg("%s contains a NUL byte: the program's stdin is sent as text", stdin_file);
        rc = EXIT_NOINPUT;
        goto out;
    }
    if (!lang) {
        if (!(specs = fetch_specs(&rc)))
            goto out;
        lang = guess_language(specs, strcmp(file, "-") ? file : "", code);
        if (!lang) {
            die_msg("cannot tell the language of %s: use --lang (runnel langs lists them)",
                    strcmp(file, "-") ? file : "standard input");
            rc = EXIT_USAGE;
            goto out;
        }
    }

    op = cJSON_CreateObject();
    cJSON *a = cJSON_AddObjectToObject(op, "args");
    cJSON_AddNumberToObject(op, "op", 1);
    cJSON_AddNumberToObject(op, "nonce", 1);
    if (a) {
        cJSON_AddStringToObject(a, "language", lang);
        cJSON_AddStringToObject(a, "code", code);
        if (input)
            cJSON_AddStringToObject(a, "stdin", input);
        if (nargs) {
            cJSON *arr = cJSON_AddArrayToObject(a, "arguments");
            for (int i = 0; arr && i < nargs; i++)
                cJSON_AddItemToArray(arr, cJSON_CreateString(args[i]));
        }
    }
    if (!a || !(msg = cJSON_PrintUnformatted(op)) || queue_text(msg) < 0) {
        die_msg("out of memory");
        rc = EXIT_SERVER;
        goto out;
    }
    free(code);
    code = NULL;

    cl.on_message = run_message;
    if (connect_to(MODE_WS, cl.ws_path) < 0) {
        die_msg("cannot connect to %s: %s", server_desc(desc, sizeof(desc)), cl.conn_error);
        rc = EXIT_CONNECT;
        goto out;
    }
    while (!run.stopped && !cl.closed) {
        lws_service(cl.ctx, SERVICE_TICK_MS);
        if ((interrupts || run.write_failed) && !run.kill_wanted) {
            run.kill_wanted = true;
            if (interrupts)
                die_msg("stopping the run (Ctrl+C again to leave at once)");
        }
        if (run.kill_wanted && run.spawned && !run.kill_sent)
            send_kill();
        if (run.kill_wanted && !run.spawned && !cl.connected) {
            rc = 128 + (interrupt_sig ? interrupt_sig : SIGINT);
            goto out;
        }
        if (run.kill_sent && now_ms() - run.kill_at > KILL_GRACE_MS) {
            die_msg("no STOP from the server %d s after the kill: leaving", KILL_GRACE_MS / 1000);
            break;
        }
    }
    if (run.status_set) {
        rc = run.status;
    } else if (run.kill_wanted) {
        rc = 128 + (interrupt_sig ? interrupt_sig : SIGINT);
    } else {
        die_msg("%s %s: %s", cl.connected ? "lost the connection to" : "cannot connect to",
                server_desc(desc, sizeof(desc)),
                cl.conn_error[0] ? cl.conn_error : "closed before the run ended");
        rc = EXIT_CONNECT;
    }
    if (run.write_failed && !interrupts)
        rc = 128 + SIGPIPE;
    /* Say goodbye properly, briefly. */
    if (cl.wsi && !cl.closed) {
        cl.closing = true;
        lws_callback_on_writable(cl.wsi);
        double until = now_ms() + CLOSE_GRACE_MS;
        while (!cl.closed && now_ms() < until)
            lws_service(cl.ctx, SERVICE_TICK_MS);
    }
out:
    free(msg);
    cJSON_Delete(op);
    cJSON_Delete(specs);
    free(code);
    free(input);
    return rc;
}

/* ------------------------------------------------------------- main */

/* Options given on the command line. */
typedef struct {
    const char *lang, *stdin_file, *server;
} cli_opts;

/* Read options into o until the first non-option (optstring "+...") or
 * "--": -1 to go on, else the exit status (--help, --version, a bad one). */
static int parse_opts(int argc, char **argv, const char *optstring, cli_opts *o)
{
    static const struct option longopts[] = {
        {"lang", required_argument, NULL, 'l'},
        {"stdin", required_argument, NULL, 'i'},
        {"server", required_argument, NULL, 's'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            o->server = optarg;
            break;
        case 'v':
            cl.verbose = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("runnel %s\n", RUNNEL_CLI_VERSION);
            return 0;
        case 'l':
            o->lang = optarg;
            break;
        case 'i':
            o->stdin_file = optarg;
            break;
        default:
            fprintf(stderr, "runnel: unknown or incomplete option '%s' (see runnel --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    return -1;
}

int main(int argc, char **argv)
{
    cli_opts o = {.server = getenv("RUNNEL_SERVER")};
    const char *cmd = NULL;
    int rc;
    char err[600];

    opterr = 0;
    /* options before the command */
    if ((rc = parse_opts(argc, argv, "+l:i:s:vh", &o)) >= 0)
        return rc;
    if (optind >= argc) {
        fprintf(stderr, "runnel: missing command: run, langs or ping (see runnel --help)\n");
        return EXIT_USAGE;
    }
    cmd = argv[optind];
    if (!strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "run") && strcmp(cmd, "langs") && strcmp(cmd, "ping")) {
        fprintf(stderr, "runnel: unknown command '%s': run, langs or ping (see runnel --help)\n",
                cmd);
        return EXIT_USAGE;
    }
    /* the command's own options; "--" ends them */
    argc -= optind;
    argv += optind;
    optind = 1;
    if ((rc = parse_opts(argc, argv, "l:i:s:vh", &o)) >= 0)
        return rc;
    const char *lang = o.lang, *stdin_file = o.stdin_file, *server = o.server;
    const char *file = NULL;
    if (!strcmp(cmd, "run")) {
        if (optind >= argc) {
            fprintf(stderr, "runnel: run needs a FILE (or - for standard input)\n");
            return EXIT_USAGE;
        }
        file = argv[optind++];
        /* getopt leaves the "--" that ended the options after FILE */
        if (optind < argc && !strcmp(argv[optind], "--") && strcmp(argv[optind - 2], "--"))
            optind++;
    } else if (optind < argc) {
        fprintf(stderr, "runnel: %s takes no argument ('%s')\n", cmd, argv[optind]);
        return EXIT_USAGE;
    } else if (lang || stdin_file) {
        fprintf(stderr, "runnel: --lang and --stdin are options of run\n");
        return EXIT_USAGE;
    }
    if (lang && !lang[0]) {
        fprintf(stderr, "runnel: --lang needs a language name\n");
        return EXIT_USAGE;
    }
    if (!server || !server[0])
        server = DEFAULT_SERVER;
    if (parse_server(server, err, sizeof(err)) < 0) {
        fprintf(stderr, "runnel: %s\n", err);
        return EXIT_USAGE;
    }
    cl.token = getenv("RUNNEL_TOKEN");

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    lws_set_log_level(cl.verbose ? LLL_ERR | LLL_WARN : 0, NULL);
    if (ctx_create() < 0) {
        fprintf(stderr, "runnel: cannot set up libwebsockets\n");
        return EXIT_SERVER;
    }
    if (!strcmp(cmd, "langs"))
        rc = cmd_langs();
    else if (!strcmp(cmd, "ping"))
        rc = cmd_ping();
    else
        rc = cmd_run(lang, file, stdin_file, argv + optind, argc - optind);
    lws_context_destroy(cl.ctx);
    free_queue();
    free(cl.body);
    free(cl.rx);
    return rc;
}
