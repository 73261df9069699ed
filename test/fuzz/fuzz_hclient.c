/* Fuzzes the client's response parser (src/hclient.c) as the client and
 * the test's raw client drive it: bytes in arbitrary pieces, the next
 * response after a complete one, EOF at the end.
 *
 * Input: [n][n control bytes][bytes of the server]
 *   control byte i (cyclic): the size of piece i (fuzz_piece).
 *
 * Invariants: a result is MORE, DONE or ERROR; a piece is consumed whole
 * unless a response ends inside it; DONE carries a final status
 * (200-999, never 1xx) and stays DONE; ERROR carries a reason and stays
 * ERROR; the caps on header and body bytes hold; at EOF the answer is
 * DONE or ERROR, never MORE. */

#include "fuzz.h"
#include "lbsim/net/http/hresp.h"

static void check_done(const lbsim_hresp_t *r) {
  FUZZ_CHECK(r->done);
  FUZZ_CHECK(r->status >= 200 && r->status <= 999);
  FUZZ_CHECK(r->body_bytes <= LBSIM_HRESP_MAX_BODY_BYTES);
  FUZZ_CHECK(r->error == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  size_t nctrl = 1 + data[0] % 8;
  if (size < 1 + nctrl)
    return 0;
  const uint8_t *ctrl = data + 1;
  const char *in = (const char *)data + 1 + nctrl;
  size_t len = size - 1 - nctrl;

  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  size_t pos = 0;
  lbsim_hresp_status_t st = LBSIM_HRESP_MORE;
  for (size_t step = 0; pos < len; step++) {
    size_t piece = fuzz_piece(ctrl[step % nctrl]);
    if (piece > len - pos)
      piece = len - pos;
    const char *at = in + pos;
    st = lbsim_hresp_feed(&r, at, piece);
    FUZZ_CHECK(st == LBSIM_HRESP_MORE || st == LBSIM_HRESP_DONE || st == LBSIM_HRESP_ERROR);
    if (st == LBSIM_HRESP_ERROR) {
      FUZZ_CHECK(r.error != NULL && !r.done);
      FUZZ_CHECK(lbsim_hresp_feed(&r, at, piece) == LBSIM_HRESP_ERROR);
      FUZZ_CHECK(lbsim_hresp_eof(&r) == LBSIM_HRESP_ERROR);
      return 0;
    }
    FUZZ_CHECK(r.header_bytes <= LBSIM_HRESP_MAX_HEADER_BYTES + piece + 4);
    if (st == LBSIM_HRESP_MORE) {
      FUZZ_CHECK(!r.done && r.error == NULL);
      FUZZ_CHECK(r.consumed == piece);
      pos += piece;
      continue;
    }
    check_done(&r);
    /* Where the response ended: what follows is the next one, as the
     * client reads answers to pipelined requests. */
    size_t used = r.consumed;
    FUZZ_CHECK(used <= piece);
    FUZZ_CHECK(r.trailing == (used < piece));
    FUZZ_CHECK(lbsim_hresp_feed(&r, at, 0) == LBSIM_HRESP_DONE);
    FUZZ_CHECK(lbsim_hresp_eof(&r) == LBSIM_HRESP_DONE);
    lbsim_hresp_next(&r);
    FUZZ_CHECK(!r.done && r.status == 0 && r.error == NULL);
    if (used == 0)
      return 0; /* done on no bytes: nothing more to learn */
    pos += used;
  }
  st = lbsim_hresp_eof(&r);
  FUZZ_CHECK(st == LBSIM_HRESP_DONE || st == LBSIM_HRESP_ERROR);
  if (st == LBSIM_HRESP_DONE)
    check_done(&r);
  else
    FUZZ_CHECK(r.error != NULL);
  return 0;
}
