// The OpenSSL 3 headers unwrapd uses, as one system module.
#ifndef UNWRAPD_COPENSSL_H
#define UNWRAPD_COPENSSL_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#endif
