/* checksum.c - the SHA-256 of a file, with OpenSSL's EVP interface (libcrypto).
 * Owns: the digest loop; OpenSSL does the hashing. */
#include "checksum.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models_internal.h"

enum { BLOCK = 1 << 20 };

static const char *openssl_reason(void) {
  const char *reason = ERR_reason_error_string(ERR_get_error());
  return reason ? reason : "no reason given";
}

vmm_status vmm_sha256_file(const char *path, char hex[65], vmm_hash_tick tick, void *user_data, vmm_error *err) {
  hex[0] = '\0';
  FILE *f = fopen(path, "rb");
  if (!f) return vmm_fail(err, VMM_ERR_IO, "cannot read %s: %s", path, strerror(errno));
  unsigned char *block = malloc(BLOCK);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  vmm_status status = VMM_OK;
  if (!block || !ctx) {
    status = vmm_fail(err, VMM_ERR_OUT_OF_MEMORY, "out of memory");
    goto done;
  }
  if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
    status = vmm_fail(err, VMM_ERR_INTERNAL, "OpenSSL cannot compute SHA-256: %s", openssl_reason());
    goto done;
  }
  int64_t done_bytes = 0;
  size_t n;
  while ((n = fread(block, 1, BLOCK, f)) > 0) {
    if (EVP_DigestUpdate(ctx, block, n) != 1) {
      status = vmm_fail(err, VMM_ERR_INTERNAL, "OpenSSL SHA-256 failed: %s", openssl_reason());
      goto done;
    }
    done_bytes += (int64_t)n;
    if (tick && tick(user_data, done_bytes) != 0) {
      status = vmm_fail(err, VMM_ERR_CANCELLED, "cancelled while checking %s", path);
      goto done;
    }
  }
  if (ferror(f)) {
    status = vmm_fail(err, VMM_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    goto done;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(ctx, digest, &length) != 1 || length != 32) {
    status = vmm_fail(err, VMM_ERR_INTERNAL, "OpenSSL SHA-256 failed: %s", openssl_reason());
    goto done;
  }
  for (unsigned int i = 0; i < length; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);

done:
  EVP_MD_CTX_free(ctx);
  free(block);
  fclose(f); /* read-only: nothing to lose */
  return status;
}
