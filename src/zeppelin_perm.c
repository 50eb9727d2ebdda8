/* Zeppelin note permissions (see zeppelin_perm.h). */
#include "zeppelin_perm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const set_keys[ZP_NSETS] = {"readers", "owners", "writers", "runners"};

const char *zp_perm_set_key(zp_perm_set s)
{
    return set_keys[s];
}

const char *zp_perm_name(zp_perm need)
{
    switch (need) {
    case ZP_PERM_READ:
        return "READER";
    case ZP_PERM_WRITE:
        return "WRITER";
    case ZP_PERM_RUN:
        return "RUNNER";
    case ZP_PERM_OWN:
        return "OWNER";
    default:
        return "NONE";
    }
}

static void names_free(zp_names *s)
{
    for (unsigned i = 0; i < s->n; i++)
        free(s->names[i]);
    free(s->names);
    s->names = NULL;
    s->n = 0;
}

void zp_perms_free(zp_perms *p)
{
    if (!p)
        return;
    for (int s = 0; s < ZP_NSETS; s++)
        names_free(&p->set[s]);
    free(p);
}

static bool names_have(const zp_names *s, const char *name)
{
    for (unsigned i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name))
            return true;
    return false;
}

/* Add a copy of name unless it is there: 1 added, 0 there; -ENOMEM. */
static int names_add(zp_names *s, const char *name, size_t len)
{
    for (unsigned i = 0; i < s->n; i++)
        if (strlen(s->names[i]) == len && !memcmp(s->names[i], name, len))
            return 0;
    char **nn = realloc(s->names, (s->n + 1) * sizeof(*nn));
    if (!nn)
        return -ENOMEM;
    s->names = nn;
    if (!(nn[s->n] = strndup(name, len)))
        return -ENOMEM;
    s->n++;
    return 1;
}

int zp_perms_private(const char *user, zp_perms **out)
{
    zp_perms *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    for (int s = 0; s < ZP_NSETS; s++) {
        if (names_add(&p->set[s], user, strlen(user)) < 0) {
            zp_perms_free(p);
            return -ENOMEM;
        }
    }
    *out = p;
    return 0;
}

int zp_perms_dup(const zp_perms *p, zp_perms **out)
{
    *out = NULL;
    if (!p)
        return 0;
    zp_perms *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    for (int s = 0; s < ZP_NSETS; s++) {
        for (unsigned i = 0; i < p->set[s].n; i++) {
            if (names_add(&c->set[s], p->set[s].names[i], strlen(p->set[s].names[i])) < 0) {
                zp_perms_free(c);
                return -ENOMEM;
            }
        }
    }
    *out = c;
    return 0;
}

/* Zeppelin's isMember: an empty set has everyone in it. */
static bool member(const zp_perms *p, zp_perm_set s, const char *user)
{
    return !p->set[s].n || names_have(&p->set[s], user);
}

bool zp_perms_allow(const zp_perms *p, zp_perm need, const char *user, bool admin)
{
    if (!p || admin || need == ZP_PERM_NONE)
        return true;
    bool own = member(p, ZP_OWNERS, user);
    bool write = own || member(p, ZP_WRITERS, user);
    switch (need) {
    case ZP_PERM_OWN:
        return own;
    case ZP_PERM_WRITE:
        return write;
    case ZP_PERM_RUN:
        return write || member(p, ZP_RUNNERS, user);
    case ZP_PERM_READ:
        return write || member(p, ZP_RUNNERS, user) || member(p, ZP_READERS, user);
    default:
        return false;
    }
}

static void names_text(const zp_names *s, char *out, size_t size)
{
    size_t o = 0;
    o += (size_t)snprintf(out, size, "[");
    for (unsigned i = 0; s && i < s->n && o < size; i++)
        o += (size_t)snprintf(out + o, size - o, "%s%s", i ? ", " : "", s->names[i]);
    if (o < size)
        snprintf(out + o, size - o, "]");
}

void zp_perms_names(const zp_perms *p, zp_perm_set s, char *out, size_t size)
{
    names_text(p ? &p->set[s] : NULL, out, size);
}

void zp_perms_denial(const zp_perms *p, zp_perm need, const char *user, char *out, size_t size)
{
    static const zp_perm_set of[] = {
        [ZP_PERM_READ] = ZP_READERS,
        [ZP_PERM_WRITE] = ZP_WRITERS,
        [ZP_PERM_RUN] = ZP_RUNNERS,
        [ZP_PERM_OWN] = ZP_OWNERS,
    };
    char allowed[ZP_PERM_BYTES_MAX + 2 * ZP_PERM_NAMES_MAX + 8];
    const zp_names *s = p && need != ZP_PERM_NONE ? &p->set[of[need]] : NULL;
    names_text(s, allowed, sizeof(allowed));
    snprintf(out, size,
             "Insufficient privileges to %s note.\nAllowed users or roles: %s\n"
             "But the user %s belongs to: [%s]",
             zp_perm_name(need), allowed, user, user);
}

void zp_perms_write(rn_jbuf *b, const zp_perms *p)
{
    rn_jbuf_str(b, "{");
    for (int s = 0; s < ZP_NSETS; s++) {
        rn_jbuf_printf(b, "%s\"%s\":[", s ? "," : "", set_keys[s]);
        for (unsigned i = 0; p && i < p->set[s].n; i++) {
            if (i)
                rn_jbuf_str(b, ",");
            rn_jbuf_jstr_safe(b, p->set[s].names[i], strlen(p->set[s].names[i]));
        }
        rn_jbuf_str(b, "]");
    }
    rn_jbuf_str(b, "}");
}

/* One name of a set, trimmed; false (why set) when it is not a string or
 * not a name. *len 0: blank, skipped. */
static bool parse_name(const cJSON *j, const char *key, const char **start, size_t *len, char *why,
                       size_t size)
{
    if (!cJSON_IsString(j)) {
        snprintf(why, size, "'%s' must be a list of user names", key);
        return false;
    }
    const char *s = j->valuestring, *e = s + strlen(s);
    while (*s == ' ' || *s == '\t')
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if ((size_t)(e - s) > ZP_PERM_NAME_MAX) {
        snprintf(why, size, "a user name in '%s' is over %d bytes", key, ZP_PERM_NAME_MAX);
        return false;
    }
    for (const char *c = s; c < e; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            snprintf(why, size, "a user name in '%s' has a control character", key);
            return false;
        }
    }
    *start = s;
    *len = (size_t)(e - s);
    return true;
}

int zp_perms_parse(const cJSON *obj, zp_perms **out, char *why, size_t size)
{
    if (!cJSON_IsObject(obj)) {
        snprintf(why, size, "permissions must be an object of readers, owners, writers, runners");
        return -EINVAL;
    }
    zp_perms *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(why, size, "out of memory");
        return -ENOMEM;
    }
    size_t bytes = 0;
    int err = 0;
    for (int s = 0; s < ZP_NSETS && !err; s++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, set_keys[s]), *j;
        if (!a || cJSON_IsNull(a))
            continue;
        if (!cJSON_IsArray(a)) {
            snprintf(why, size, "'%s' must be a list of user names", set_keys[s]);
            err = -EINVAL;
            break;
        }
        cJSON_ArrayForEach(j, a)
        {
            const char *name;
            size_t len;
            if (!parse_name(j, set_keys[s], &name, &len, why, size)) {
                err = -EINVAL;
                break;
            }
            if (!len)
                continue;
            int added = names_add(&p->set[s], name, len);
            if (added < 0) {
                snprintf(why, size, "out of memory");
                err = added;
                break;
            }
            bytes += added ? len : 0;
            if (p->set[s].n > ZP_PERM_NAMES_MAX) {
                snprintf(why, size, "too many names in '%s' (limit %d)", set_keys[s],
                         ZP_PERM_NAMES_MAX);
                err = -EINVAL;
                break;
            }
            if (bytes > ZP_PERM_BYTES_MAX) {
                snprintf(why, size, "the user names are too long together (limit %d bytes)",
                         ZP_PERM_BYTES_MAX);
                err = -EINVAL;
                break;
            }
        }
    }
    if (err) {
        zp_perms_free(p);
        return err;
    }
    *out = p;
    return 0;
}

int zp_perms_complete(zp_perms *p, const char *user)
{
    size_t l = strlen(user);
    /* Readers given: runners, writers and owners; runners given: writers
     * and owners; writers given: owners. */
    static const struct {
        zp_perm_set given;
        zp_perm_set fill[3];
        int nfill;
    } rules[] = {
        {ZP_READERS, {ZP_RUNNERS, ZP_WRITERS, ZP_OWNERS}, 3},
        {ZP_RUNNERS, {ZP_WRITERS, ZP_OWNERS}, 2},
        {ZP_WRITERS, {ZP_OWNERS}, 1},
    };
    for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]); r++) {
        if (!p->set[rules[r].given].n)
            continue;
        for (int i = 0; i < rules[r].nfill; i++)
            if (!p->set[rules[r].fill[i]].n && names_add(&p->set[rules[r].fill[i]], user, l) < 0)
                return -ENOMEM;
    }
    return 0;
}
