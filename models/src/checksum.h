/* checksum.h - the SHA-256 of a file, with OpenSSL's EVP interface (libcrypto).
 * Owns: reading the file in blocks, reporting progress, and OpenSSL's error codes. */
#ifndef VMM_CHECKSUM_H
#define VMM_CHECKSUM_H

#include <stdint.h>

#include "vitmatte_models.h"

/* Called after each block with the bytes hashed so far; non-zero stops (VMM_ERR_CANCELLED). */
typedef int (*vmm_hash_tick)(void *user_data, int64_t bytes_done);

/* Fills `hex` (64 lowercase digits and a NUL). */
vmm_status vmm_sha256_file(const char *path, char hex[65], vmm_hash_tick tick, void *user_data, vmm_error *err);

#endif
