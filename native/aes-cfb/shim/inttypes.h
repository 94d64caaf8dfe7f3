/* Freestanding inttypes.h: the fixed-width types are all the vendored sources need. */
#ifndef SIGILL_SHIM_INTTYPES_H
#define SIGILL_SHIM_INTTYPES_H
#include <stdint.h>
#endif
