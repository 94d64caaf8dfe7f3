/* Stand-in for OpenSSL's generated crypto.h: the vendored AES and CFB sources include it but use nothing from it. */
#ifndef OPENSSL_CRYPTO_H
#define OPENSSL_CRYPTO_H
#include <openssl/e_os2.h>
#endif
