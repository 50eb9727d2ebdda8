/* Names for the sandbox's protection bits: the one table every report
 * (the server's /v1/info, runnel-box --describe) reads. */
#include "box.h"

static const struct {
    unsigned bit;
    const char *name;
} prot_names[] = {
    {RN_BOX_PROT_USERNS, "userns"},       {RN_BOX_PROT_PIDNS, "pidns"},
    {RN_BOX_PROT_MOUNTNS, "mountns"},     {RN_BOX_PROT_NETNS, "netns"},
    {RN_BOX_PROT_IPCNS, "ipcns"},         {RN_BOX_PROT_UTSNS, "utsns"},
    {RN_BOX_PROT_CGROUPNS, "cgroupns"},   {RN_BOX_PROT_SECCOMP, "seccomp"},
    {RN_BOX_PROT_CAPDROP, "capdrop"},     {RN_BOX_PROT_CGROUP_V1, "cgroup_v1"},
    {RN_BOX_PROT_CGROUP_V2, "cgroup_v2"}, {RN_BOX_PROT_UIDRANGE, "uid_range"},
};

const char *rn_box_protection_name(unsigned bit)
{
    for (unsigned i = 0; i < sizeof(prot_names) / sizeof(prot_names[0]); i++)
        if (prot_names[i].bit == bit)
            return prot_names[i].name;
    return (const char *)0;
}
