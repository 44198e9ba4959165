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

static const int SHIM_EVP_PKEY_PUBLIC_KEY = EVP_PKEY_PUBLIC_KEY;
static const int SHIM_EVP_PKEY_KEYPAIR = EVP_PKEY_KEYPAIR;

/* OPENSSL_free is a macro over CRYPTO_free with file/line. */
static inline void shim_openssl_free(void *p) { OPENSSL_free(p); }

/* BIO_get_mem_data is a macro over BIO_ctrl. */
static inline long shim_BIO_get_mem_data(BIO *b, char **pp) { return BIO_get_mem_data(b, pp); }

#endif
