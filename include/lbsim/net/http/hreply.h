/* What an application's render() writes (lbsim/net/http/hsession.h): the
 * status line and the headers every answer carries, or a whole small
 * answer. */
#ifndef LBSIM_HREPLY_H
#define LBSIM_HREPLY_H

#include <stddef.h>

#include "lbsim/net/http/hsession.h"

struct lbsim_buf_s;

/* The status line and the common headers (Server, Date, Connection as the
 * entry's flags require); the application adds its own and the body. */
void lbsim_hreply_head(struct lbsim_buf_s *out, const lbsim_hentry_t *entry, int status);
/* A whole response with a small body: head, Content-Type, Content-Length, body (not for HEAD). */
void lbsim_hreply_simple(struct lbsim_buf_s *out, const lbsim_hentry_t *entry, int status,
                         const char *content_type, const char *extra_headers, const char *body, size_t body_len);
/* The reason phrase of a status lbsim sends ("Unknown" for others). */
const char *lbsim_hreply_reason(int status);
/* The Date header line for the current second, cached. */
const char *lbsim_hreply_date_line(void);

#endif
