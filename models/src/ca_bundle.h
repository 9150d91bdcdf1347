/* ca_bundle.h - which file of trusted certificates HTTPS downloads use.
 * Owns: the choice between $CURL_CA_BUNDLE / $SSL_CERT_FILE, libcurl's built-in file, and the usual places of other
 * distributions (for a libcurl built on Debian running elsewhere, as in the download bundle). */
#ifndef VMM_CA_BUNDLE_H
#define VMM_CA_BUNDLE_H

#include <curl/curl.h>

/* The file to give CURLOPT_CAINFO, or NULL to keep libcurl's own (it exists, or there is nothing better). */
const char *vmm_ca_bundle(CURL *curl);

#endif
