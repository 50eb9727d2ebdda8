/* sbx-rmtree PATH: remove PATH with rn_rmtree (for the escape suite). */
#include "rmtree.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: sbx-rmtree PATH\n");
        return 2;
    }
    int r = rn_rmtree(argv[1]);
    if (r < 0)
        fprintf(stderr, "sbx-rmtree: %s: %s\n", argv[1], strerror(-r));
    return r < 0;
}
