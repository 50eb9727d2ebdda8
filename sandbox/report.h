/* The record the run's pid 1 writes on the close-on-exec report pipe, shared
 * by the library (box_internal.h, child.c: the init in place) and
 * runnel-init (init.c, built freestanding: this header needs nothing but
 * <stdint.h> and <stddef.h>). The layout is fixed and asserted, so the two
 * builds cannot disagree on it.
 */
#ifndef RUNNEL_REPORT_H
#define RUNNEL_REPORT_H

#include <stddef.h>
#include <stdint.h>

/* One record per write (far below PIPE_BUF, so each arrives whole). A
 * set-up failure in the init or in the program before exec is
 * RN_REPORT_SETUP; the init's last word, when the program has ended, is
 * RN_REPORT_EXIT. */
enum { RN_REPORT_SETUP = 1, RN_REPORT_EXIT = 2 };
/* EXIT's stage: 1 when runnel-init (init.c) sent it, which holds nothing
 * of the caller's memory; 0 from the init in place (child.c). */
enum { RN_REPORT_FROM_INIT = 1 };
typedef struct {
    int32_t kind;
    int32_t stage;      /* SETUP: an rn_box_stage */
    int32_t err;        /* SETUP: positive errno */
    int32_t status;     /* EXIT: the program's wait status, as from wait4 */
    uint64_t cpu_us;    /* EXIT: user + system of every process the init reaped */
    uint64_t maxrss_kb; /* EXIT: the largest max RSS among them */
} rn_report;

_Static_assert(sizeof(rn_report) == 32 && offsetof(rn_report, status) == 12 &&
                   offsetof(rn_report, cpu_us) == 16 && offsetof(rn_report, maxrss_kb) == 24,
               "rn_report's layout is the pipe's wire format");

#endif
