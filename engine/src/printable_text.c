/* printable_text.c - vm_text_sanitize: messages that quote bytes from files (tensor names, config strings, codec
 * texts) become valid UTF-8 on one line, as GIMP's message boxes and terminals expect. */
#include <stdint.h>
#include <string.h>

#include "vitmatte.h"

/* The length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong forms, no surrogates, at most
 * U+10FFFF) that is not a control character (C0, DEL, C1), or 0. */
static size_t printable_sequence(const unsigned char *s) {
  const unsigned char c = s[0];
  if (c >= 0x20 && c < 0x7f) return 1;
  unsigned char lo = 0x80, hi = 0xbf;
  size_t n;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    if (c == 0xc2) lo = 0xa0; /* U+0080..U+009F are the C1 controls */
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < n; i++)
    if (s[i] < 0x80 || s[i] > 0xbf) return 0;
  return n;
}

void vm_text_sanitize(char *text, size_t size) {
  if (!text || size == 0) return;
  const size_t length = strnlen(text, size - 1);
  text[length] = '\0';
  /* Work on a copy: escapes make the text longer. */
  char source[1024];
  const size_t copied = length < sizeof source - 1 ? length : sizeof source - 1;
  memcpy(source, text, copied);
  source[copied] = '\0';
  static const char hex[] = "0123456789ABCDEF";
  size_t out = 0;
  for (size_t i = 0; i < copied;) {
    const size_t n = printable_sequence((const unsigned char *)source + i);
    const size_t need = n ? n : 4;
    if (out + need > size - 1) break; /* cut at a character boundary, never inside an escape */
    if (n) {
      memcpy(text + out, source + i, n);
      i += n;
    } else {
      const unsigned char byte = (unsigned char)source[i++];
      text[out++] = '\\';
      text[out++] = 'x';
      text[out++] = hex[byte >> 4];
      text[out++] = hex[byte & 15];
      continue;
    }
    out += n;
  }
  text[out] = '\0';
}
