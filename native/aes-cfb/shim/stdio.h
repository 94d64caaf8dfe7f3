/* Freestanding stdio.h: nothing the vendored sources use. */
#ifndef SIGILL_SHIM_STDIO_H
#define SIGILL_SHIM_STDIO_H
#endif
