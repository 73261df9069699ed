/* http://host[:port][/path] — the only URL form lbsim's client speaks. */
#ifndef LBSIM_URL_H
#define LBSIM_URL_H

#include <stddef.h>
#include <stdint.h>

#define LBSIM_URL_MAX 2048

typedef struct lbsim_url_s {
  char text[LBSIM_URL_MAX + 1];   /* as given: printed in summaries */
  char host[256];                 /* name or address, IPv6 without brackets */
  char authority[264];            /* host[:port] as given: the Host header */
  char path[LBSIM_URL_MAX + 1];   /* origin-form target, "/" when absent */
  uint16_t port;
} lbsim_url_t;

/* Returns 0, or LBSIM_EINVAL with a reason ("https:// is not supported", ...) in err. */
int lbsim_url_parse(lbsim_url_t *url, const char *text, char *err, size_t errlen);

/* A simulated backend's URL as lbsim prints it, http://host:port/ping
 * (an IPv6 host in brackets), on either clock. Cut to fit `len`. */
#define LBSIM_BACKEND_URL_LEN 300
void lbsim_url_backend(char *out, size_t len, const char *host, unsigned port);

#endif
