#include "os_patches/os_patches.h"
