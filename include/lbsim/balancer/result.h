/* How a request ended. Pure: shared by the transports that produce results
 * and the statistics and reports that count them. */
#ifndef LBSIM_RESULT_H
#define LBSIM_RESULT_H

typedef enum lbsim_result_e {
  LBSIM_RESULT_OK = 0,
  LBSIM_RESULT_CONNECT,       /* could not connect (refused, unreachable, no fds; a backend that is down) */
  LBSIM_RESULT_RESET,         /* closed or reset by the server before a complete response */
  LBSIM_RESULT_TIMEOUT,       /* the deadline passed */
  LBSIM_RESULT_BAD_RESPONSE,  /* not a valid HTTP/1.x response, or over a cap */
  LBSIM_RESULT_STATUS,        /* a complete response with a status other than 200 */
  LBSIM_RESULT_CANCELLED,     /* cut short by shutdown */
  LBSIM_RESULT_COUNT
} lbsim_result_t;

/* Short names for output: "ok", "connect", "reset", "timeout", "bad_response", "status", "cancelled". */
const char *lbsim_result_name(lbsim_result_t result);

#endif
