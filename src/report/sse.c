/* Server-Sent Events: framing, ids and the bounded history. See lbsim/report/sse.h. */
#include "lbsim/report/sse.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "lbsim/base/error.h"
#include "lbsim/base/buf.h"

void lbsim_sse_init(lbsim_sse_t *sse, uint32_t token, size_t max_bytes, uint32_t max_count) {
  memset(sse, 0, sizeof(*sse));
  sse->token = token;
  sse->max_bytes = max_bytes;
  sse->max_count = max_count > 0 ? max_count : 1;
  sse->next_id = 1;
  sse->oldest = 1;
}

void lbsim_sse_free(lbsim_sse_t *sse) {
  for (uint32_t k = 0; k < sse->count; k++)
    free(sse->ring[(sse->head + k) % sse->cap]);
  free(sse->ring);
  free(sse->start);
  memset(sse, 0, sizeof(*sse));
}

static void drop_oldest(lbsim_sse_t *sse) {
  lbsim_sse_item_t *item = sse->ring[sse->head];
  sse->bytes -= item->len;
  free(item);
  sse->head = (sse->head + 1) % sse->cap;
  sse->count--;
  sse->oldest++;
  sse->dropped++;
}

static int ring_push(lbsim_sse_t *sse, lbsim_sse_item_t *item) {
  if (sse->count == sse->cap) {
    uint32_t cap = sse->cap ? sse->cap * 2 : 64;
    lbsim_sse_item_t **ring = malloc(cap * sizeof(*ring));
    if (ring == NULL)
      return LBSIM_ENOMEM;
    for (uint32_t k = 0; k < sse->count; k++)
      ring[k] = sse->ring[(sse->head + k) % sse->cap];
    free(sse->ring);
    sse->ring = ring;
    sse->cap = cap;
    sse->head = 0;
  }
  sse->ring[(sse->head + sse->count) % sse->cap] = item;
  sse->count++;
  return 0;
}

int lbsim_sse_publish(lbsim_sse_t *sse, const char *type, const char *data, size_t len) {
  char head[96];
  int n = snprintf(head, sizeof(head), "id: %08" PRIx32 ".%" PRIu64 "\nevent: %s\ndata: ", sse->token, sse->next_id,
                   type);
  if (n < 0 || (size_t)n >= sizeof(head))
    return LBSIM_EINVAL;
  size_t size = (size_t)n + len + 2;
  lbsim_sse_item_t *item = malloc(sizeof(*item) + size);
  uint64_t id = sse->next_id;
  if (item == NULL)
    return LBSIM_ENOMEM; /* the id is not used: ids stay consecutive */
  item->id = id;
  item->len = size;
  memcpy(item->data, head, (size_t)n);
  memcpy(item->data + n, data, len);
  memcpy(item->data + n + len, "\n\n", 2);
  if (size > sse->largest)
    sse->largest = size;
  if (sse->start == NULL && id == 1 && strcmp(type, "start") == 0) {
    sse->start = item;
    sse->bytes += size;
    sse->next_id++;
    sse->oldest = 2;
    return 0;
  }
  if (ring_push(sse, item) != 0) {
    free(item);
    return LBSIM_ENOMEM;
  }
  sse->next_id++;
  sse->bytes += size;
  /* The newest event always stays, however large. */
  while (sse->count > 1 && (sse->bytes > sse->max_bytes || sse->count > sse->max_count))
    drop_oldest(sse);
  return 0;
}

const lbsim_sse_item_t *lbsim_sse_get(const lbsim_sse_t *sse, uint64_t id) {
  if (sse->start && id == sse->start->id)
    return sse->start;
  if (id < sse->oldest || id >= sse->oldest + sse->count)
    return NULL;
  return sse->ring[(sse->head + (id - sse->oldest)) % sse->cap];
}

/* "5f3a09c1.42" of this run -> 42; 0 when not of this run or malformed. */
static uint64_t id_of(const lbsim_sse_t *sse, const char *text) {
  char *end;
  unsigned long token = strtoul(text, &end, 16);
  if (end != text + 8 || *end != '.' || token != sse->token)
    return 0;
  const char *digits = end + 1;
  if (*digits < '0' || *digits > '9')
    return 0;
  unsigned long long id = strtoull(digits, &end, 10);
  return *end == '\0' ? (uint64_t)id : 0;
}

lbsim_sse_start_t lbsim_sse_resume(const lbsim_sse_t *sse, const char *last_event_id) {
  lbsim_sse_start_t s = {.reset = false, .send_start = true, .next_id = sse->oldest};
  if (last_event_id == NULL)
    return s;
  uint64_t last = id_of(sse, last_event_id);
  if (last != 0 && last < sse->next_id && last + 1 >= sse->oldest) {
    s.send_start = false;
    s.next_id = last + 1;
    return s;
  }
  s.reset = true;
  return s;
}

static void json_text(lbsim_buf_t *out, const char *s) {
  lbsim_buf_append_str(out, "\"");
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      lbsim_buf_printf(out, "\\%c", c);
    else if (c < 0x20 || c >= 0x7f)
      lbsim_buf_printf(out, "\\u%04x", c);
    else
      lbsim_buf_append(out, s, 1);
  }
  lbsim_buf_append_str(out, "\"");
}

void lbsim_sse_reset_event(const lbsim_sse_t *sse, const char *last_event_id, lbsim_buf_t *out) {
  uint64_t last = id_of(sse, last_event_id ? last_event_id : "");
  const char *why = last == 0 ? "other-run" : "expired";
  lbsim_buf_printf(out, "event: reset\ndata: {\"type\":\"reset\",\"reason\":\"%s\",\"last_event_id\":", why);
  json_text(out, last_event_id ? last_event_id : "");
  lbsim_buf_printf(out, ",\"oldest_id\":\"%08" PRIx32 ".%" PRIu64 "\"}\n\n", sse->token, sse->oldest);
}

int lbsim_sse_type_of(const char *line, size_t len, char *type, size_t typelen) {
  static const char prefix[] = "{\"type\":\"";
  size_t p = sizeof(prefix) - 1;
  if (len <= p || memcmp(line, prefix, p) != 0)
    return LBSIM_EINVAL;
  size_t n = 0;
  while (p + n < len && line[p + n] != '"') {
    char c = line[p + n];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || n + 1 >= typelen)
      return LBSIM_EINVAL;
    type[n] = c;
    n++;
  }
  if (n == 0 || p + n >= len)
    return LBSIM_EINVAL;
  type[n] = '\0';
  return 0;
}
