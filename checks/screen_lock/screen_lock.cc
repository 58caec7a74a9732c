#include "screen_lock/screen_lock.h"
