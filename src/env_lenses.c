/* The lenses envelope (being written; not routed yet). */
#include "app.h"

const rn_envelope rn_env_lenses = {
    .name = "lenses",
};
