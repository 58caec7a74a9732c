#include "vpn/vpn.h"
