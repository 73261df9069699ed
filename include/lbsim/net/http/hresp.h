/* The client side of one HTTP/1.1 connection, without any I/O: reads one
 * response after another (llhttp HTTP_RESPONSE). Content-Length, chunked
 * and close-delimited bodies; 1xx interim responses are skipped; the header
 * section and the body are capped. Bodies are counted, never stored. */
#ifndef LBSIM_HRESP_H
#define LBSIM_HRESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

#define LBSIM_HRESP_MAX_HEADER_BYTES (64u * 1024u)
#define LBSIM_HRESP_MAX_BODY_BYTES (16u * 1024u * 1024u)

typedef enum lbsim_hresp_status_e {
  LBSIM_HRESP_MORE = 0,     /* incomplete: feed more */
  LBSIM_HRESP_DONE,         /* a final response is complete */
  LBSIM_HRESP_ERROR         /* malformed or over a cap: the connection is unusable */
} lbsim_hresp_status_t;

typedef struct lbsim_hresp_s {
  llhttp_t parser;
  uint64_t bytes;           /* bytes of the current response, interim ones included */
  uint64_t body_bytes;
  uint32_t header_bytes;
  int status;               /* of the final response, once DONE */
  bool done;
  bool keep_alive;          /* the connection may carry another request */
  bool trailing;            /* bytes followed the response: the connection is unusable */
  size_t consumed;          /* bytes of the last feed that belong to this response */
  const char *error;        /* why, once ERROR */
} lbsim_hresp_t;

void lbsim_hresp_init(lbsim_hresp_t *r);
/* Prepares for the response to a new request on the same connection. */
void lbsim_hresp_next(lbsim_hresp_t *r);
/* Parses bytes of the current response. Bytes past the end of a complete
 * response are left unconsumed (`consumed` says where it ended) and mark
 * it `trailing`: they are garbage unless another request was pipelined. */
lbsim_hresp_status_t lbsim_hresp_feed(lbsim_hresp_t *r, const char *data, size_t len);
/* The server closed the connection: completes a close-delimited body. */
lbsim_hresp_status_t lbsim_hresp_eof(lbsim_hresp_t *r);

#endif
