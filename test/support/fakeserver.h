/* A misbehaving HTTP server for client tests, on the test's loop. For every
 * request (a blank line seen) it sends `reply`, possibly trickled, and then
 * keeps the connection, closes it, or resets it. */
#ifndef LBSIM_TEST_FAKESERVER_H
#define LBSIM_TEST_FAKESERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

typedef struct fake_behavior_s {
  const char *reply;       /* sent for each request; NULL: never answer */
  size_t reply_len;        /* 0: strlen(reply) */
  size_t trickle;          /* send in pieces of this size ... */
  uint64_t gap_ms;         /* ... this far apart */
  bool close_after;        /* close once the reply is sent */
  bool reset_after;        /* reset (RST) once the reply is sent */
  bool reset_on_accept;
  bool close_on_accept;
  int answer_first;        /* answer the first N requests of a connection, then close on the next
                            * (0: answer all; -1: close on the first, unanswered) */
} fake_behavior_t;

typedef struct fake_conn_s fake_conn_t;

typedef struct fake_server_s {
  uv_loop_t *loop;
  uv_tcp_t listener;
  uint16_t port;
  fake_behavior_t behavior;
  fake_conn_t *conns;
  int accepted;
  int requests;
  int open_handles;
} fake_server_t;

int fake_server_start(fake_server_t *server, uv_loop_t *loop, const fake_behavior_t *behavior);
/* Closes the listener and every connection. */
void fake_server_stop(fake_server_t *server);

/* A port on which a listening socket never accepts (backlog full): returns
 * the fd to close at the end, and fills the port and `fill` connections
 * that occupy the backlog. -1 on error. */
int stuck_listener(uint16_t *port);
/* A port on which nothing listens (connections are refused). */
uint16_t refused_port(void);

#endif
