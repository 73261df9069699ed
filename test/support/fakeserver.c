#include "fakeserver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct fake_conn_s {
  uv_tcp_t tcp;
  uv_timer_t timer;
  fake_server_t *server;
  fake_conn_t *next;
  int requests;
  size_t sent;           /* of the reply being trickled */
  int match;             /* progress through "\r\n\r\n" */
  bool closing;
  int handles;
};

static void on_handle_closed(uv_handle_t *h) {
  fake_conn_t *c = h->data;
  fake_server_t *s = c->server;
  if (--c->handles == 0) {
    /* unlink */
    for (fake_conn_t **p = &s->conns; *p; p = &(*p)->next)
      if (*p == c) {
        *p = c->next;
        break;
      }
    free(c);
    s->open_handles--;
  }
}

static void conn_close(fake_conn_t *c, bool reset) {
  if (c->closing)
    return;
  c->closing = true;
  if (reset)
    uv_tcp_close_reset(&c->tcp, on_handle_closed);
  else
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static size_t reply_len(const fake_behavior_t *b) {
  return b->reply_len ? b->reply_len : strlen(b->reply);
}

static void send_more(fake_conn_t *c);

static void on_gap(uv_timer_t *t) {
  send_more(t->data);
}

static void send_more(fake_conn_t *c) {
  const fake_behavior_t *b = &c->server->behavior;
  size_t len = reply_len(b);
  size_t piece = b->trickle ? b->trickle : len;
  if (piece > len - c->sent)
    piece = len - c->sent;
  if (piece > 0) {
    uv_buf_t buf = uv_buf_init((char *)b->reply + c->sent, (unsigned)piece);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
    if (n < 0) {
      conn_close(c, false);
      return;
    }
    c->sent += (size_t)n;
  }
  if (c->sent < len) {
    uv_timer_start(&c->timer, on_gap, b->trickle ? b->gap_ms : 1, 0);
    return;
  }
  c->sent = 0;
  if (b->close_after || b->reset_after)
    conn_close(c, b->reset_after);
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  static char space[65536];
  (void)h;
  (void)size;
  *buf = uv_buf_init(space, sizeof(space));
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf) {
  fake_conn_t *c = stream->data;
  const fake_behavior_t *b = &c->server->behavior;
  if (n < 0) {
    conn_close(c, false);
    return;
  }
  static const char end[] = "\r\n\r\n";
  for (ssize_t i = 0; i < n && !c->closing; i++) {
    c->match = buf->base[i] == end[c->match] ? c->match + 1 : (buf->base[i] == '\r' ? 1 : 0);
    if (c->match < 4)
      continue;
    c->match = 0;
    c->requests++;
    c->server->requests++;
    if (b->answer_first != 0 && c->requests > (b->answer_first < 0 ? 0 : b->answer_first)) {
      conn_close(c, false);
      return;
    }
    if (b->reply)
      send_more(c);
  }
}

static void on_connection(uv_stream_t *listener, int status) {
  fake_server_t *s = listener->data;
  if (status != 0)
    return;
  fake_conn_t *c = calloc(1, sizeof(*c));
  c->server = s;
  uv_tcp_init(s->loop, &c->tcp);
  uv_timer_init(s->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->handles = 2;
  c->next = s->conns;
  s->conns = c;
  s->open_handles++;
  if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
    conn_close(c, false);
    return;
  }
  s->accepted++;
  if (s->behavior.reset_on_accept || s->behavior.close_on_accept) {
    conn_close(c, s->behavior.reset_on_accept);
    return;
  }
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_listener_closed(uv_handle_t *h) {
  fake_server_t *s = h->data;
  s->open_handles--;
}

int fake_server_start(fake_server_t *s, uv_loop_t *loop, const fake_behavior_t *behavior) {
  memset(s, 0, sizeof(*s));
  s->loop = loop;
  s->behavior = *behavior;
  uv_tcp_init(loop, &s->listener);
  s->listener.data = s;
  s->open_handles = 1;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  if (uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0) != 0 ||
      uv_listen((uv_stream_t *)&s->listener, 128, on_connection) != 0)
    return -1;
  struct sockaddr_in name;
  int len = sizeof(name);
  uv_tcp_getsockname(&s->listener, (struct sockaddr *)&name, &len);
  s->port = ntohs(name.sin_port);
  return 0;
}

void fake_server_stop(fake_server_t *s) {
  uv_close((uv_handle_t *)&s->listener, on_listener_closed);
  for (fake_conn_t *c = s->conns; c; c = c->next)
    conn_close(c, false);
}

static int bound_socket(uint16_t *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

int stuck_listener(uint16_t *port) {
  int fd = bound_socket(port);
  if (fd >= 0 && listen(fd, 0) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

uint16_t refused_port(void) {
  uint16_t port = 0;
  int fd = bound_socket(&port); /* bound, never listening: connections are refused */
  if (fd >= 0)
    close(fd);
  return port;
}
