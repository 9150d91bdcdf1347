/* ca_bundle.c - which file of trusted certificates HTTPS downloads use.
 * Owns: the order of the candidates. libcurl compiled on Debian looks for /etc/ssl/certs/ca-certificates.crt only;
 * the plug-in bundle takes that libcurl to Fedora, openSUSE or Alpine, where the file lives elsewhere. */
#include "ca_bundle.h"

#include <stdlib.h>

#include "models_internal.h"

const char *vmm_ca_bundle(CURL *curl) {
  /* As curl's own command line and OpenSSL do: the user's choice first. */
  static const char *const variables[] = {"CURL_CA_BUNDLE", "SSL_CERT_FILE"};
  for (size_t i = 0; i < sizeof variables / sizeof variables[0]; i++) {
    const char *v = getenv(variables[i]);
    if (v && *v && vmm_is_file(v)) return v;
  }
  char *builtin = NULL;
  if (curl_easy_getinfo(curl, CURLINFO_CAINFO, &builtin) == CURLE_OK && builtin && vmm_is_file(builtin)) return NULL;
  static const char *const known[] = {
      "/etc/ssl/certs/ca-certificates.crt",                /* Debian, Ubuntu, Arch, Gentoo, freedesktop SDK */
      "/etc/pki/tls/certs/ca-bundle.crt",                  /* Fedora, RHEL */
      "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* Fedora, RHEL (the extracted bundle) */
      "/etc/ssl/ca-bundle.pem",                            /* openSUSE */
      "/etc/ssl/cert.pem",                                 /* Alpine, macOS */
  };
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (vmm_is_file(known[i])) return known[i];
  return NULL;
}
