/* The linkis envelope (being written; not routed yet). */
#include "app.h"

const rn_envelope rn_env_linkis = {
    .name = "linkis",
};
