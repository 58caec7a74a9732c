#include "disk_encryption/disk_encryption.h"
