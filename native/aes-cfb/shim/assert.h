/* Freestanding assert.h: built with NDEBUG, as release builds of OpenSSL are; the glue checks its arguments. */
#ifndef SIGILL_SHIM_ASSERT_H
#define SIGILL_SHIM_ASSERT_H
#define assert(expression) ((void)0)
#endif
