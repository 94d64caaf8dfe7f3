/*
 * Sigill's glue around OpenSSL's AES (crypto/aes/aes_core.c) and CFB128 mode (crypto/modes/cfb128.c),
 * compiled to WebAssembly for Thunderbird (extension/platform/cfb.ts). Nothing cryptographic is
 * written here: the key schedule, the block function and the mode are OpenSSL's, unmodified.
 *
 * One instance holds one CFB context (key schedule, feedback register, position in it), so any
 * number of contexts can run side by side and each is freed with its instance. JavaScript writes the
 * key and IV into their areas, calls sigill_cfb_init, then streams through the fixed data area:
 * copy up to SIGILL_CHUNK octets in, call sigill_cfb_crypt, copy as many out (CFB128 is a stream mode:
 * OpenSSL keeps the position inside the block in `num`, so chunks of any length follow each other,
 * as with node:crypto's aes-*-cfb). OpenPGP's SEIPDv1 is exactly this: full-block CFB, zero IV, no
 * resynchronisation (RFC 9580 §5.13.1).
 */
/* As in OpenSSL's own sources: the AES_* calls are deprecated for applications, not for this. */
#include "internal/deprecated.h"
#include <stddef.h>
#include <openssl/aes.h>
#include <openssl/modes.h>

#define SIGILL_CHUNK 65536

static AES_KEY schedule;
static unsigned char key_area[32];
static unsigned char ivec[16];
static int num;
static int ready;
static unsigned char data[SIGILL_CHUNK];

/* Overwrites memory in a way the optimiser may not drop (the buffers are not read afterwards). */
static void wipe(void *area, size_t length)
{
    volatile unsigned char *p = (volatile unsigned char *)area;
    while (length--)
        *p++ = 0;
}

__attribute__((export_name("sigill_key"))) unsigned char *sigill_key(void) { return key_area; }
__attribute__((export_name("sigill_iv"))) unsigned char *sigill_iv(void) { return ivec; }
__attribute__((export_name("sigill_data"))) unsigned char *sigill_data(void) { return data; }
__attribute__((export_name("sigill_chunk"))) int sigill_chunk(void) { return SIGILL_CHUNK; }

/* Zeroes the key, the key schedule, the feedback register and the data area. */
__attribute__((export_name("sigill_cfb_clear"))) void sigill_cfb_clear(void)
{
    wipe(&schedule, sizeof(schedule));
    wipe(key_area, sizeof(key_area));
    wipe(ivec, sizeof(ivec));
    wipe(data, sizeof(data));
    num = 0;
    ready = 0;
}

/*
 * Expands the key in the key area (bits: 128, 192 or 256) and starts CFB at the IV in the IV area.
 * The key area is wiped either way. Returns 0, or -1 for a bad key size.
 */
__attribute__((export_name("sigill_cfb_init"))) int sigill_cfb_init(int bits)
{
    int result = -1;
    ready = 0;
    if (bits == 128 || bits == 192 || bits == 256)
        result = AES_set_encrypt_key(key_area, bits, &schedule) == 0 ? 0 : -1;
    wipe(key_area, sizeof(key_area));
    if (result != 0) {
        sigill_cfb_clear();
        return -1;
    }
    num = 0;
    ready = 1;
    return 0;
}

/*
 * Encrypts (enc = 1) or decrypts (enc = 0) the first `length` octets of the data area in place.
 * CFB only ever runs the block cipher forwards, so both directions use AES_encrypt.
 * Returns 0, or -1 without touching anything if there is no key or the length is out of range.
 */
__attribute__((export_name("sigill_cfb_crypt"))) int sigill_cfb_crypt(int length, int enc)
{
    if (!ready || length < 0 || length > SIGILL_CHUNK)
        return -1;
    CRYPTO_cfb128_encrypt(data, data, (size_t)length, &schedule, ivec, &num, enc ? 1 : 0, (block128_f)AES_encrypt);
    return num < 0 ? -1 : 0;
}
