/* runnel-init: pid 1 of a run, once the program has started.
 *
 * Built freestanding and static (no libc), embedded in the library and
 * exec'd by the run's set-up process from a sealed memfd, so the init never
 * keeps the caller's memory: its address space is this file and a stack.
 *
 *   runnel-init ERR_FD PROGRAM_PID
 *
 * It makes itself non-dumpable, loads an allow-list seccomp filter, reaps
 * every process that ends in the namespace, and when PROGRAM_PID ends writes
 * an RN_REPORT_EXIT record (report.h: rn_report) to ERR_FD and exits,
 * which ends the run. no_new_privs and an empty capability set come from the
 * process that exec'd it.
 */
#include <asm/unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/prctl.h>
#include <linux/resource.h>
#include <linux/seccomp.h>
#include <linux/wait.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
__asm__(".text\n.globl _start\n_start:\n"
        "    xor %ebp, %ebp\n"
        "    mov %rsp, %rdi\n"
        "    and $-16, %rsp\n"
        "    call init_main\n"
        "    hlt\n");
static long sys(long n, long a, long b, long c, long d)
{
    long ret;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
                     : "rcx", "r11", "memory");
    return ret;
}
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
__asm__(".text\n.globl _start\n_start:\n"
        "    mov x29, #0\n"
        "    mov x0, sp\n"
        "    bl init_main\n"
        "    brk #0\n");
static long sys(long n, long a, long b, long c, long d)
{
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
    return x0;
}
#else
#error "runnel-init is built for x86_64 and aarch64 only"
#endif

static _Noreturn void die(int code)
{
    for (;;)
        sys(__NR_exit_group, code, 0, 0, 0);
}

static long number(const char *s)
{
    long v = 0;
    if (!s || !*s)
        die(127);
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            die(127);
        v = v * 10 + (*s - '0');
    }
    return v;
}

#define ALLOW(nr)                                                                                  \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

_Noreturn void init_main(long *sp);
_Noreturn void init_main(long *sp)
{
    char **argv = (char **)(sp + 1);
    if (sp[0] != 3)
        die(127);
    int err_fd = (int)number(argv[1]);
    long program = number(argv[2]);

    sys(__NR_prctl, PR_SET_DUMPABLE, 0, 0, 0);
    sys(__NR_prctl, PR_SET_NAME, (long)"runnel-init", 0, 0);
    static struct sock_filter insns[] = {
        /* static: no memcpy to build it */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        ALLOW(__NR_wait4),
        ALLOW(__NR_getrusage),
        ALLOW(__NR_write),
        ALLOW(__NR_exit),
        ALLOW(__NR_exit_group),
        ALLOW(__NR_restart_syscall),
        ALLOW(__NR_rt_sigreturn),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof(insns) / sizeof(insns[0])), insns};
    if (sys(__NR_prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, (long)&prog, 0) < 0)
        die(127);

    for (;;) {
        int status = 0;
        long pid = sys(__NR_wait4, -1, (long)&status, __WALL, 0);
        if (pid == -4 /* EINTR */)
            continue;
        if (pid < 0)
            die(127);
        if (pid != program)
            continue; /* an orphan: reaped, so it holds no pid */
        struct rusage ru;
        volatile rn_report rep;
        rep.kind = RN_REPORT_EXIT;
        rep.stage = RN_REPORT_FROM_INIT; /* from this program, not the in-place init */
        rep.err = 0;
        rep.status = status;
        rep.cpu_us = 0;
        rep.maxrss_kb = 0;
        if (sys(__NR_getrusage, RUSAGE_CHILDREN, (long)&ru, 0, 0) == 0) {
            rep.cpu_us = (uint64_t)ru.ru_utime.tv_sec * 1000000 + (uint64_t)ru.ru_utime.tv_usec +
                         (uint64_t)ru.ru_stime.tv_sec * 1000000 + (uint64_t)ru.ru_stime.tv_usec;
            rep.maxrss_kb = (uint64_t)ru.ru_maxrss;
        }
        sys(__NR_write, err_fd, (long)&rep, sizeof(rep), 0);
        die((status & 0x7f) ? 128 + (status & 0x7f) : (status >> 8) & 0xff);
    }
}
