/* Forced into every C and C++ program (gcc -include): stdout is line
 * buffered even when it is a pipe, so output reaches the client as it is
 * printed instead of at exit. */
#include <stdio.h>

__attribute__((constructor)) static void runnel_linebuf_(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
}
