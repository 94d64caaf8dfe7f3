/* Freestanding stdlib.h: nothing the vendored sources use at run time. */
#ifndef SIGILL_SHIM_STDLIB_H
#define SIGILL_SHIM_STDLIB_H
#include <stddef.h>
#endif
