/* Fuzzes the client's response parser (net/http/hresp.c) as the client and
 * the test's raw client drive it: bytes in arbitrary pieces, the next
 * response after a complete one, EOF at the end; with the first control
 * byte odd, it keeps endpoint-load-metrics, and each complete response's
 * load report is read (net/http/orca.c) as the client reads it.
 *
 * Input: [n][n control bytes][bytes of the server]
 *   control byte i (cyclic): the size of piece i (fuzz_piece).
 *
 * Invariants: a result is MORE, DONE or ERROR; a piece is consumed whole
 * unless a response ends inside it; DONE carries a final status
 * (200-999, never 1xx) and stays DONE; ERROR carries a reason and stays
 * ERROR; the caps on header and body bytes hold; at EOF the answer is
 * DONE or ERROR, never MORE. A load report is read or refused with a
 * reason, never more than the parser kept; one read has finite,
 * non-negative figures and says which it has; what it wrote reads back as
 * the same report. */

#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "lbsim/net/http/hresp.h"
#include "lbsim/net/http/orca.h"

static void check_load(const lbsim_hresp_t *r) {
  if (!r->capture_load) {
    FUZZ_CHECK(r->load_count == 0);
    return;
  }
  FUZZ_CHECK(r->load_len <= LBSIM_HRESP_LOAD_MAX);
  lbsim_load_report_t rep;
  const char *why = NULL;
  int err = lbsim_orca_from_response(r, &rep, &why);
  if (err != 0) {
    FUZZ_CHECK(why != NULL && why[0] != '\0');
    return;
  }
  FUZZ_CHECK(r->load_count == 1 && !r->load_too_long);
  FUZZ_CHECK((rep.has & ~(unsigned)(LBSIM_LOAD_RIF | LBSIM_LOAD_QUEUE | LBSIM_LOAD_RPS | LBSIM_LOAD_CPU)) == 0);
  FUZZ_CHECK(isfinite(rep.rps) && isfinite(rep.cpu) && rep.cpu >= 0);
  FUZZ_CHECK((rep.has & LBSIM_LOAD_RIF) || rep.rif == 0);
  FUZZ_CHECK((rep.has & LBSIM_LOAD_QUEUE) || rep.queue == 0);
  /* What lbsim writes of a full report reads back the same. */
  if (rep.has == (LBSIM_LOAD_RIF | LBSIM_LOAD_QUEUE | LBSIM_LOAD_RPS | LBSIM_LOAD_CPU) && rep.rps >= 0 &&
      rep.rps < 1e12 && rep.cpu < 1e12) {
    rep.rps = round(rep.rps * 1e4) / 1e4;
    rep.cpu = round(rep.cpu * 1e4) / 1e4;
    char line[192];
    size_t n = lbsim_orca_header(&rep, line, sizeof(line));
    const char *value = strchr(line, ':') + 2;
    lbsim_load_report_t back;
    FUZZ_CHECK(lbsim_orca_parse(value, n - (size_t)(value - line) - 2, &back, &why) == 0);
    FUZZ_CHECK(back.rif == rep.rif && back.queue == rep.queue && back.rps == rep.rps && back.cpu == rep.cpu);
  }
}

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
  r.capture_load = (ctrl[0] & 1) != 0;
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
    check_load(&r);
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
  if (st == LBSIM_HRESP_DONE) {
    check_done(&r);
    check_load(&r);
  } else
    FUZZ_CHECK(r.error != NULL);
  return 0;
}
