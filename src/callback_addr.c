#include "callback_addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

/* The IPv4 address an IPv6 one carries (mapped ::ffff:a.b.c.d, compatible
 * ::a.b.c.d, NAT64 64:ff9b::a.b.c.d, 6to4 2002:ab:cd::), if any. */
static bool embedded_v4(const uint8_t *b, uint32_t *v4)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t zero[12] = {0};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};
    const uint8_t *p = NULL;
    if (!memcmp(b, mapped, 12) || !memcmp(b, nat64, 12))
        p = b + 12;
    else if (!memcmp(b, zero, 12) && (b[12] | b[13] | b[14] | b[15]) &&
             !(b[12] == 0 && b[13] == 0 && b[14] == 0 && b[15] == 1))
        p = b + 12; /* ::a.b.c.d, but not :: or ::1 */
    else if (b[0] == 0x20 && b[1] == 0x02)
        p = b + 2;
    if (!p)
        return false;
    *v4 = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return true;
}

static const char *v4_kind(uint32_t a)
{
    static const struct {
        uint32_t net, mask;
        const char *kind;
    } nets[] = {
        {0x00000000, 0xff000000, "an unspecified address"},
        {0x7f000000, 0xff000000, "a loopback address"},
        {0x0a000000, 0xff000000, "a private address"},
        {0xac100000, 0xfff00000, "a private address"},
        {0xc0a80000, 0xffff0000, "a private address"},
        {0x64400000, 0xffc00000, "a shared (CGNAT) address"},
        {0xa9fe0000, 0xffff0000, "a link-local address"},
        {0xc0000000, 0xffffff00, "a reserved address"},
        {0xc6120000, 0xfffe0000, "a reserved address"},
        {0xffffffff, 0xffffffff, "a broadcast address"},
        {0xe0000000, 0xf0000000, "a multicast address"},
        {0xf0000000, 0xf0000000, "a reserved address"},
    };
    for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++)
        if ((a & nets[i].mask) == nets[i].net)
            return nets[i].kind;
    return NULL;
}

static const char *v6_kind(const uint8_t *b)
{
    static const uint8_t zero[16] = {0};
    uint32_t v4;
    if (!memcmp(b, zero, 16))
        return "an unspecified address";
    if (!memcmp(b, zero, 15) && b[15] == 1)
        return "a loopback address";
    if (embedded_v4(b, &v4))
        return v4_kind(v4);
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
        return "a link-local address";
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
        return "a site-local address";
    if ((b[0] & 0xfe) == 0xfc)
        return "a private address";
    if (b[0] == 0xff)
        return "a multicast address";
    return NULL;
}

static bool same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return false;
    if (a->sa_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                   &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
}

/* Whether addr is one of this machine's interface addresses. */
static bool own_addr(const struct sockaddr *addr)
{
    uv_interface_address_t *ifs = NULL;
    int n = 0;
    if (uv_interface_addresses(&ifs, &n) != 0)
        return false;
    bool own = false;
    for (int i = 0; i < n && !own; i++)
        own = same_addr(addr, (const struct sockaddr *)&ifs[i].address);
    uv_free_interface_addresses(ifs, n);
    return own;
}

int rn_callback_addr_check(const struct sockaddr *addr, char *why, size_t whylen)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    const char *kind = NULL;
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)addr;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
        kind = v4_kind(ntohl(s->sin_addr.s_addr));
    } else if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)addr;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
        kind = v6_kind(s->sin6_addr.s6_addr);
    } else {
        kind = "not an IP address";
    }
    if (!kind && own_addr(addr))
        kind = "one of the server's own addresses";
    if (!kind)
        return 0;
    snprintf(why, whylen, "callback refused: %s is %s", ip, kind);
    return -EACCES;
}

/* Parse an IP into 16 bytes (IPv4 as mapped IPv6) and its bit offset. */
static bool parse_ip(const char *s, uint8_t out[16], unsigned *base)
{
    struct in_addr a4;
    if (inet_pton(AF_INET, s, &a4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &a4, 4);
        *base = 96;
        return true;
    }
    *base = 0;
    return inet_pton(AF_INET6, s, out) == 1;
}

static void addr_bytes(const struct sockaddr *addr, uint8_t out[16])
{
    if (addr->sa_family == AF_INET) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &((const struct sockaddr_in *)addr)->sin_addr, 4);
    } else {
        memcpy(out, &((const struct sockaddr_in6 *)addr)->sin6_addr, 16);
    }
}

int rn_callback_allowed(const char *entry, const char *host, const struct sockaddr *addr)
{
    char ip[INET6_ADDRSTRLEN + 8];
    const char *slash = strchr(entry, '/');
    size_t n = slash ? (size_t)(slash - entry) : strlen(entry);
    if (n >= sizeof(ip))
        return 0;
    memcpy(ip, entry, n);
    ip[n] = '\0';
    uint8_t net[16], a[16];
    unsigned base = 0;
    if (!parse_ip(ip, net, &base))
        return !slash && !strcasecmp(entry, host);
    unsigned bits = 128;
    if (slash) {
        char *end = NULL;
        unsigned long p = strtoul(slash + 1, &end, 10);
        if (!slash[1] || *end || p > 128 - base)
            return 0;
        bits = base + (unsigned)p;
    }
    addr_bytes(addr, a);
    for (unsigned i = 0; i < bits; i++) {
        unsigned byte = i / 8, bit = 7 - i % 8;
        if (((net[byte] >> bit) & 1) != ((a[byte] >> bit) & 1))
            return 0;
    }
    return 1;
}
