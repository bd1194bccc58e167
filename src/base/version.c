#include "smtpc/base.h"

const char *smtpc_version(void)
{
    return SMTPC_VERSION_STRING;
}

int smtpc_version_number(void)
{
    return SMTPC_VERSION_NUMBER;
}
