#include "ncs.h"
int ncs_header_check_dummy;
