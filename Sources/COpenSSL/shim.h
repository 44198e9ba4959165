#ifndef REWRAP_COPENSSL_SHIM_H
#define REWRAP_COPENSSL_SHIM_H

/* The only C in the project: the OpenSSL 3 headers, plus constants for the few
   composite macros that Swift's importer cannot see. */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/rsa.h>
#include <openssl/ec.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/core_names.h>
#include <openssl/rand.h>
#include <openssl/obj_mac.h>
#include <openssl/opensslv.h>
#include <openssl/bn.h>
#include <openssl/sha.h>

static const int SHIM_EVP_PKEY_PUBLIC_KEY = EVP_PKEY_PUBLIC_KEY;
static const int SHIM_EVP_PKEY_KEYPAIR = EVP_PKEY_KEYPAIR;

/* OPENSSL_free is a macro over CRYPTO_free with file/line. */
static inline void shim_openssl_free(void *p) { OPENSSL_free(p); }

/* BIO_get_mem_data is a macro over BIO_ctrl. */
static inline long shim_BIO_get_mem_data(BIO *b, char **pp) { return BIO_get_mem_data(b, pp); }

/* SHA-256 on a caller-owned context, for the hot-path HMAC. OpenSSL 3.0's EVP digests free
   and re-allocate their provider context on every init (one malloc per init, two per HMAC,
   measured); these functions run the same assembly on plain memory with no allocation. They
   are deprecated since 3.0 (not removed through 3.5), hence the local suppression. */
#ifdef OPENSSL_NO_DEPRECATED_3_0
#error "this OpenSSL is built without the 3.0-deprecated SHA256_* functions the HMAC uses"
#endif
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static inline size_t shim_sha256_context_size(void) { return sizeof(SHA256_CTX); }
static inline int shim_sha256_init(void *c) { return SHA256_Init((SHA256_CTX *)c); }
static inline int shim_sha256_update(void *c, const void *data, size_t n) {
    return SHA256_Update((SHA256_CTX *)c, data, n);
}
static inline int shim_sha256_final(unsigned char *digest, void *c) { return SHA256_Final(digest, (SHA256_CTX *)c); }
#pragma GCC diagnostic pop

#endif
