/* Fuzzes the client's response parsing (lbsim_hresp_t) without sockets:
 * arbitrary bytes in arbitrary pieces, one response after another.
 *
 * Input layout: records of a control byte and data; the low 6 bits + 1 give
 * the piece's size, bit 6 starts the next response once one is complete,
 * bit 7 reports the server's end of input. */
#include <stdint.h>
#include <stdlib.h>

#include "lbsim/hclient.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  size_t i = 0;
  while (i < size) {
    uint8_t ctl = data[i++];
    size_t n = (size_t)(ctl & 0x3f) + 1;
    if (n > size - i)
      n = size - i;
    lbsim_hresp_status_t st = lbsim_hresp_feed(&r, (const char *)data + i, n);
    i += n;
    if (st == LBSIM_HRESP_DONE && (r.status < 100 || r.status > 999))
      abort();
    if (st == LBSIM_HRESP_ERROR && r.error == NULL)
      abort();
    if (r.header_bytes > LBSIM_HRESP_MAX_HEADER_BYTES + 64 * 1024)
      abort(); /* the cap must have stopped it long before */
    if (ctl & 0x80) {
      st = lbsim_hresp_eof(&r);
      if (st == LBSIM_HRESP_MORE)
        abort(); /* after the end there is nothing more to wait for */
      break;
    }
    if ((ctl & 0x40) && st == LBSIM_HRESP_DONE) {
      if (!r.keep_alive || r.trailing)
        break; /* the client would close this connection */
      lbsim_hresp_next(&r);
    }
    if (st == LBSIM_HRESP_ERROR)
      break;
  }
  return 0;
}
