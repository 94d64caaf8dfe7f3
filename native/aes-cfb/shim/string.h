/* Freestanding string.h: declarations only. clang lowers these calls to wasm's bulk memory instructions (-mbulk-memory). */
#ifndef SIGILL_SHIM_STRING_H
#define SIGILL_SHIM_STRING_H
#include <stddef.h>
void *memcpy(void *dest, const void *src, size_t n);
void *memset(void *dest, int c, size_t n);
#endif
