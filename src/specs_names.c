/* Language specs: the "names" table (what each envelope calls a language),
 * its validation, clashes between specs, and lookup by envelope. */
#include "specs_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JUDGE0_MAX_ID   9999
#define JUDGE0_MAX_IDS  16
#define NAMES_MAX_EACH  32
#define JUDGE0_MAX_NAME 128

static const char *const names_fields[] = {RN_NAMES_ENVELOPES, NULL};

/* A list of names under names.<field>: at most NAMES_MAX_EACH, each a valid
 * name, no repeats (case-insensitive). *out stays NULL when absent. */
static int get_name_list(const cJSON *names, const char *field, bool nonempty, char ***out,
                         char *errbuf, size_t errsize)
{
    char path[64];
    int rc;

    snprintf(path, sizeof(path), "names.%s", field);
    *out = NULL;
    if ((rc = spec_get_strv(names, field, false, nonempty, out, errbuf, errsize)) < 0) {
        /* the field reader names the inner field; say where it is */
        if (rc == -EINVAL)
            spec_set_err(errbuf, errsize, "field '%s': must be a non-empty array of strings", path);
        return rc;
    }
    if (*out == NULL)
        return 0;
    if (spec_strv_len(*out) > NAMES_MAX_EACH) {
        spec_set_err(errbuf, errsize, "field '%s': at most %d names", path, NAMES_MAX_EACH);
        return -EINVAL;
    }
    for (char **a = *out; *a != NULL; a++) {
        if (!spec_valid_name(*a)) {
            spec_set_err(errbuf, errsize, "field '%s': '%s' must be 1-64 of [A-Za-z0-9+#._-]", path,
                         *a);
            return -EINVAL;
        }
        for (char **b = *out; b != a; b++) {
            if (strcasecmp(*a, *b) == 0) {
                spec_set_err(errbuf, errsize, "field '%s': '%s' given twice", path, *a);
                return -EINVAL;
            }
        }
    }
    return 0;
}

static int get_piston(const cJSON *names, rn_spec_names *nm, char *errbuf, size_t errsize)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(names, "piston");
    rn_spec_piston *pi;
    char *lang = NULL;
    int rc;

    if (p == NULL)
        return 0;
    if (!cJSON_IsObject(p)) {
        spec_set_err(errbuf, errsize, "field 'names.piston': must be an object");
        return -EINVAL;
    }
    for (const cJSON *el = p->child; el != NULL; el = el->next) {
        if (strcmp(el->string, "language") && strcmp(el->string, "aliases") &&
            strcmp(el->string, "runtime")) {
            spec_set_err(errbuf, errsize, "field 'names.piston.%s': unknown field", el->string);
            return -EINVAL;
        }
    }
    if ((pi = calloc(1, sizeof(*pi))) == NULL)
        return -ENOMEM;
    nm->piston = pi;
    if ((rc = spec_get_string(p, "language", true, true, &lang, errbuf, errsize)) < 0) {
        if (rc == -EINVAL)
            spec_set_err(errbuf, errsize, "field 'names.piston.language': must be a string");
        return rc;
    }
    pi->language = lang;
    if (!spec_valid_name(lang)) {
        spec_set_err(errbuf, errsize,
                     "field 'names.piston.language': must be 1-64 of [A-Za-z0-9+#._-]");
        return -EINVAL;
    }
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(p, "runtime");
    if (rt != NULL && !cJSON_IsNull(rt)) {
        if (!cJSON_IsString(rt) || !spec_valid_name(rt->valuestring)) {
            spec_set_err(errbuf, errsize, "field 'names.piston.runtime': must be null or a name");
            return -EINVAL;
        }
        if ((pi->runtime = strdup(rt->valuestring)) == NULL)
            return -ENOMEM;
    }
    if ((rc = get_name_list(p, "aliases", false, &pi->aliases, errbuf, errsize)) < 0) {
        if (rc == -EINVAL)
            spec_set_err(errbuf, errsize,
                         "field 'names.piston.aliases': must be an array of distinct names");
        return rc;
    }
    if (pi->aliases == NULL && (pi->aliases = calloc(1, sizeof(char *))) == NULL)
        return -ENOMEM;
    return 0;
}

static int get_judge0(const cJSON *names, rn_spec_names *nm, char *errbuf, size_t errsize)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(names, "judge0"), *el;
    int n;

    if (j == NULL)
        return 0;
    n = cJSON_GetArraySize(j);
    if (!cJSON_IsArray(j) || n < 1 || n > JUDGE0_MAX_IDS) {
        spec_set_err(errbuf, errsize, "field 'names.judge0': must be an array of 1-%d objects",
                     JUDGE0_MAX_IDS);
        return -EINVAL;
    }
    if ((nm->judge0 = calloc((size_t)n, sizeof(*nm->judge0))) == NULL)
        return -ENOMEM;
    cJSON_ArrayForEach(el, j)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(el, "id");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(el, "name");
        rn_spec_judge0 *o = &nm->judge0[nm->njudge0];

        if (!cJSON_IsObject(el) || cJSON_GetArraySize(el) != 2 || !cJSON_IsNumber(id) ||
            id->valuedouble != (double)(int)id->valuedouble || id->valueint < 1 ||
            id->valueint > JUDGE0_MAX_ID || !cJSON_IsString(name) || !name->valuestring[0] ||
            strlen(name->valuestring) > JUDGE0_MAX_NAME) {
            spec_set_err(errbuf, errsize,
                         "field 'names.judge0': each item must be {\"id\": 1-%d, \"name\": a "
                         "non-empty string of at most %d bytes}",
                         JUDGE0_MAX_ID, JUDGE0_MAX_NAME);
            return -EINVAL;
        }
        for (size_t k = 0; k < nm->njudge0; k++) {
            if (nm->judge0[k].id == id->valueint) {
                spec_set_err(errbuf, errsize, "field 'names.judge0': id %d given twice",
                             id->valueint);
                return -EINVAL;
            }
        }
        o->id = id->valueint;
        snprintf(o->idstr, sizeof(o->idstr), "%d", o->id);
        if ((o->name = strdup(name->valuestring)) == NULL)
            return -ENOMEM;
        nm->njudge0++;
    }
    return 0;
}

int spec_get_names(const cJSON *root, rn_spec *sp, char *errbuf, size_t errsize)
{
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(root, "names");
    rn_spec_names *nm = &sp->names;
    int rc;

    if (names != NULL && !cJSON_IsObject(names)) {
        spec_set_err(errbuf, errsize, "field 'names': must be an object");
        return -EINVAL;
    }
    for (const cJSON *el = names != NULL ? names->child : NULL; el != NULL; el = el->next) {
        size_t k;

        for (k = 0; names_fields[k] != NULL; k++)
            if (strcmp(el->string, names_fields[k]) == 0)
                break;
        if (names_fields[k] == NULL) {
            spec_set_err(errbuf, errsize, "field 'names.%s': unknown envelope", el->string);
            return -EINVAL;
        }
    }
    if (names != NULL) {
        if ((rc = get_name_list(names, "ranna", true, &nm->ranna, errbuf, errsize)) < 0 ||
            (rc = get_piston(names, nm, errbuf, errsize)) < 0 ||
            (rc = get_judge0(names, nm, errbuf, errsize)) < 0 ||
            (rc = get_name_list(names, "linkis", true, &nm->linkis, errbuf, errsize)) < 0 ||
            (rc = get_name_list(names, "zeppelin", true, &nm->zeppelin, errbuf, errsize)) < 0)
            return rc;
        const cJSON *jobe = cJSON_GetObjectItemCaseSensitive(names, "jobe");
        if (jobe != NULL && (!cJSON_IsString(jobe) || !spec_valid_name(jobe->valuestring))) {
            spec_set_err(errbuf, errsize, "field 'names.jobe': must be 1-64 of [A-Za-z0-9+#._-]");
            return -EINVAL;
        }
        if (jobe != NULL && (nm->jobe = strdup(jobe->valuestring)) == NULL)
            return -ENOMEM;
    }
    if (nm->ranna == NULL) {
        if ((nm->ranna = calloc(2, sizeof(char *))) == NULL ||
            (nm->ranna[0] = strdup(sp->name)) == NULL)
            return -ENOMEM;
    }
    if (nm->linkis == NULL && (nm->linkis = calloc(1, sizeof(char *))) == NULL)
        return -ENOMEM;
    if (nm->zeppelin == NULL && (nm->zeppelin = calloc(1, sizeof(char *))) == NULL)
        return -ENOMEM;
    return 0;
}

void spec_names_free(rn_spec *sp)
{
    rn_spec_names *nm = &sp->names;

    spec_strv_free(nm->ranna);
    if (nm->piston != NULL) {
        free(nm->piston->language);
        spec_strv_free(nm->piston->aliases);
        free(nm->piston->runtime);
        free(nm->piston);
    }
    for (size_t i = 0; i < nm->njudge0; i++)
        free(nm->judge0[i].name);
    free(nm->judge0);
    free(nm->jobe);
    spec_strv_free(nm->linkis);
    spec_strv_free(nm->zeppelin);
    memset(nm, 0, sizeof(*nm));
}

/* ---- lookup ---- */

const char *rn_spec_name_for(const rn_spec *sp, const char *envelope, size_t i)
{
    const rn_spec_names *nm;

    if (sp == NULL || envelope == NULL)
        return NULL;
    nm = &sp->names;
    if (strcmp(envelope, "ranna") == 0)
        return i < spec_strv_len(nm->ranna) ? nm->ranna[i] : NULL;
    if (strcmp(envelope, "piston") == 0) {
        if (nm->piston == NULL)
            return NULL;
        if (i == 0)
            return nm->piston->language;
        return i - 1 < spec_strv_len(nm->piston->aliases) ? nm->piston->aliases[i - 1] : NULL;
    }
    if (strcmp(envelope, "judge0") == 0)
        return i < nm->njudge0 ? nm->judge0[i].idstr : NULL;
    if (strcmp(envelope, "jobe") == 0)
        return i == 0 ? nm->jobe : NULL;
    if (strcmp(envelope, "linkis") == 0)
        return i < spec_strv_len(nm->linkis) ? nm->linkis[i] : NULL;
    if (strcmp(envelope, "zeppelin") == 0)
        return i < spec_strv_len(nm->zeppelin) ? nm->zeppelin[i] : NULL;
    return NULL;
}

static bool has_name_for(const rn_spec *sp, const char *envelope, const char *name)
{
    const char *n;

    for (size_t i = 0; (n = rn_spec_name_for(sp, envelope, i)) != NULL; i++)
        if (strcasecmp(n, name) == 0)
            return true;
    return false;
}

const rn_spec *rn_specs_find_for(const rn_specs *specs, const char *envelope, const char *name)
{
    const char *const *e;
    static const char *const known[] = {RN_NAMES_ENVELOPES, NULL};

    if (specs == NULL || envelope == NULL || name == NULL || name[0] == '\0')
        return NULL;
    for (e = known; *e != NULL && strcmp(*e, envelope) != 0; e++)
        ;
    if (*e == NULL)
        return NULL;
    for (size_t i = 0; i < specs->n; i++)
        if (has_name_for(specs->v[i], envelope, name))
            return specs->v[i];
    if (strcmp(envelope, "ranna") == 0)
        return rn_specs_find(specs, name);
    return NULL;
}

const rn_spec *rn_specs_find_judge0(const rn_specs *specs, int id)
{
    for (size_t i = 0; specs != NULL && i < specs->n; i++)
        for (size_t k = 0; k < specs->v[i]->names.njudge0; k++)
            if (specs->v[i]->names.judge0[k].id == id)
                return specs->v[i];
    return NULL;
}

/* ---- clashes between specs ---- */

/* The earlier spec that already has name under envelope (for ranna: also
 * as a name or alias), or NULL. */
static const rn_spec *taken(const rn_spec *const *v, size_t n, const char *envelope,
                            const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (has_name_for(v[i], envelope, name))
            return v[i];
        if (strcmp(envelope, "ranna") != 0)
            continue;
        if (strcasecmp(v[i]->name, name) == 0)
            return v[i];
        for (char **a = v[i]->aliases; *a != NULL; a++)
            if (strcasecmp(*a, name) == 0)
                return v[i];
    }
    return NULL;
}

/* Remove the names of list that are taken; report each. */
static void drop_list(rn_spec *sp, char **list, const char *envelope, const rn_spec *const *v,
                      size_t n, rn_specs_error_fn err, void *ud, bool keep_first)
{
    size_t w = 0;

    for (size_t r = 0; list != NULL && list[r] != NULL; r++) {
        const rn_spec *other = (keep_first && r == 0) ? NULL : taken(v, n, envelope, list[r]);

        if (other != NULL) {
            if (err != NULL) {
                char line[512];

                snprintf(line, sizeof(line), "%s: field 'names.%s': '%s' already names %s; ignored",
                         sp->path, envelope, list[r], other->name);
                err(ud, line);
            }
            free(list[r]);
            continue;
        }
        list[w++] = list[r];
    }
    if (list != NULL)
        list[w] = NULL;
}

void spec_names_drop_clashes(rn_spec *sp, const rn_spec *const *v, size_t n, rn_specs_error_fn err,
                             void *ud)
{
    rn_spec_names *nm = &sp->names;
    char line[512];

    /* ranna: a key another spec answers to is dropped; the spec's own name
     * is never taken (rn_specs_load refuses a duplicate name first). */
    drop_list(sp, nm->ranna, "ranna", v, n, err, ud, false);
    if (nm->ranna[0] == NULL) {
        nm->ranna[0] = strdup(sp->name);
    }
    drop_list(sp, nm->linkis, "linkis", v, n, err, ud, false);
    drop_list(sp, nm->zeppelin, "zeppelin", v, n, err, ud, false);
    if (nm->jobe != NULL && taken(v, n, "jobe", nm->jobe) != NULL) {
        snprintf(line, sizeof(line), "%s: field 'names.jobe': '%s' already names %s; ignored",
                 sp->path, nm->jobe, taken(v, n, "jobe", nm->jobe)->name);
        if (err != NULL)
            err(ud, line);
        free(nm->jobe);
        nm->jobe = NULL;
    }
    if (nm->piston != NULL) {
        const rn_spec *other = taken(v, n, "piston", nm->piston->language);

        if (other != NULL) {
            snprintf(line, sizeof(line),
                     "%s: field 'names.piston': language '%s' already names %s; ignored", sp->path,
                     nm->piston->language, other->name);
            if (err != NULL)
                err(ud, line);
            free(nm->piston->language);
            spec_strv_free(nm->piston->aliases);
            free(nm->piston->runtime);
            free(nm->piston);
            nm->piston = NULL;
        } else {
            drop_list(sp, nm->piston->aliases, "piston", v, n, err, ud, false);
        }
    }
    size_t w = 0;
    for (size_t r = 0; r < nm->njudge0; r++) {
        const rn_spec *other =
            rn_specs_find_judge0(&(rn_specs){(rn_spec **)v, n}, nm->judge0[r].id);

        if (other != NULL) {
            snprintf(line, sizeof(line),
                     "%s: field 'names.judge0': id %d already names %s; ignored", sp->path,
                     nm->judge0[r].id, other->name);
            if (err != NULL)
                err(ud, line);
            free(nm->judge0[r].name);
            continue;
        }
        nm->judge0[w++] = nm->judge0[r];
    }
    nm->njudge0 = w;
}

const char *rn_spec_jobe_id(const rn_spec *spec)
{
    return spec->names.jobe ? spec->names.jobe : spec->name;
}
