#!/usr/bin/env bash
# test_tls.sh - `vitmatte download` over HTTPS (with_hub.sh --tls: a certificate for 127.0.0.1 that no system
# trusts): refused with a one-line TLS error, accepted once $SSL_CERT_FILE or $CURL_CA_BUNDLE names it (how a user
# points the download at their certificates, e.g. the bundle on a distribution whose file libcurl does not know).
# Usage: with_hub.sh ... --tls -- bash test_tls.sh VITMATTE
VITMATTE=$(realpath "$1")
# shellcheck source=../cli/cli_test_lib.sh
. "$(dirname "$0")/../cli/cli_test_lib.sh"
[ -n "${HUB_CA:-}" ] || { echo "FAIL run me through with_hub.sh --tls"; exit 1; }
cd "$TMP" || exit 1
export HF_ENDPOINT=$HUB_URL
echo "vitmatte download over HTTPS"
VITMATTE_MODELS=$TMP/a expect_error "a certificate nobody trusts" 3 "secure connection to 127.0.0.1 failed" nothing.png -- \
  download --quiet small
for variable in SSL_CERT_FILE CURL_CA_BUNDLE; do
  env "$variable=$HUB_CA" VITMATTE_MODELS="$TMP/$variable" "$VITMATTE" download --quiet small 2>"$TMP/err"
  rc=$?
  if [ "$rc" -eq 0 ] && [ -f "$TMP/$variable/vitmatte-small-composition-1k/download.json" ]; then
    pass "\$$variable naming the certificate: downloaded over HTTPS"
  else fail "\$$variable: exit $rc: $(cat "$TMP/err")"; fi
done
finish
