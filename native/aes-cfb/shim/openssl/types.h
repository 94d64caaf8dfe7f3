/* Stand-in for OpenSSL's types.h (which pulls in the generated safestack.h): the opaque type names
 * that include/crypto/modes.h mentions, declared as in the real header. */
#ifndef OPENSSL_TYPES_H
#define OPENSSL_TYPES_H
typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;
typedef struct evp_mac_st EVP_MAC;
typedef struct evp_mac_ctx_st EVP_MAC_CTX;
#endif
