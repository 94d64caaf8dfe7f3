/* Stand-in for OpenSSL's generated configuration.h (Configure output): a build with no assembler,
 * no deprecated-API removal, no threads. */
#ifndef OPENSSL_CONFIGURATION_H
#define OPENSSL_CONFIGURATION_H
#define OPENSSL_CONFIGURED_API 30000
#define OPENSSL_NO_ASM
#define OPENSSL_NO_INLINE_ASM
#undef OPENSSL_THREADS
#define OPENSSL_NO_STATIC_ENGINE
#endif
