/* Unit tests of the URL parser (lbsim/base/url.h). */
#include "harness.h"
#include "lbsim/base/error.h"
#include "lbsim/base/url.h"

static lbsim_url_t url; /* big: keep it off the stack */
static char err[256];

static int parse(const char *text) {
  strcpy(err, "(untouched)");
  return lbsim_url_parse(&url, text, err, sizeof(err));
}

TEST(ipv4_with_port_and_path) {
  CHECK_EQ(parse("http://127.0.0.1:5001/ping"), 0);
  CHECK_STR_EQ(url.text, "http://127.0.0.1:5001/ping");
  CHECK_STR_EQ(url.host, "127.0.0.1");
  CHECK_STR_EQ(url.authority, "127.0.0.1:5001");
  CHECK_STR_EQ(url.path, "/ping");
  CHECK_EQ(url.port, 5001);
}

TEST(ipv6_with_port_path_and_query) {
  CHECK_EQ(parse("http://[::1]:8080/x?y=1"), 0);
  CHECK_STR_EQ(url.host, "::1");
  CHECK_STR_EQ(url.authority, "[::1]:8080");
  CHECK_STR_EQ(url.path, "/x?y=1");
  CHECK_EQ(url.port, 8080);
}

TEST(ipv6_without_port_or_path) {
  CHECK_EQ(parse("http://[2001:db8::a:1]"), 0);
  CHECK_STR_EQ(url.host, "2001:db8::a:1");
  CHECK_STR_EQ(url.authority, "[2001:db8::a:1]");
  CHECK_STR_EQ(url.path, "/");
  CHECK_EQ(url.port, 80);
}

TEST(name_without_port_or_path) {
  CHECK_EQ(parse("http://example.com"), 0);
  CHECK_STR_EQ(url.host, "example.com");
  CHECK_STR_EQ(url.authority, "example.com");
  CHECK_STR_EQ(url.path, "/");
  CHECK_EQ(url.port, 80);
}

TEST(port_bounds_accepted) {
  CHECK_EQ(parse("http://h:1/"), 0);
  CHECK_STR_EQ(url.host, "h");
  CHECK_STR_EQ(url.authority, "h:1");
  CHECK_STR_EQ(url.path, "/");
  CHECK_EQ(url.port, 1);
  CHECK_EQ(parse("http://h:65535/"), 0);
  CHECK_EQ(url.port, 65535);
}

TEST(query_without_path_gets_a_slash) {
  CHECK_EQ(parse("http://h:81?a=b"), 0);
  CHECK_STR_EQ(url.authority, "h:81");
  CHECK_STR_EQ(url.path, "/?a=b");
  CHECK_EQ(url.port, 81);
}

TEST(scheme_is_case_insensitive) {
  CHECK_EQ(parse("HTTP://Example.COM/A"), 0);
  CHECK_STR_EQ(url.host, "Example.COM");
  CHECK_STR_EQ(url.path, "/A");
}

TEST(at_sign_in_path_is_not_user_info) {
  CHECK_EQ(parse("http://h/a@b"), 0);
  CHECK_STR_EQ(url.host, "h");
  CHECK_STR_EQ(url.path, "/a@b");
}

TEST(reparse_clears_previous_fields) {
  CHECK_EQ(parse("http://long-host-name.example:9000/some/long/path"), 0);
  CHECK_EQ(parse("http://h"), 0);
  CHECK_STR_EQ(url.host, "h");
  CHECK_STR_EQ(url.authority, "h");
  CHECK_STR_EQ(url.path, "/");
  CHECK_EQ(url.port, 80);
}

/* A bad URL: -1, and the message contains `why`. */
static int bad(const char *text, const char *why) {
  REQUIRE(parse(text) == LBSIM_EINVAL);
  if (strstr(err, why) == NULL) {
    lbsim_test_fail(__FILE__, __LINE__, "'%s': message \"%s\" lacks \"%s\"", text, err, why);
    return -1;
  }
  return 0;
}

TEST(https_rejected) {
  CHECK_EQ(bad("https://x/", "https:// is not supported"), 0);
  CHECK_EQ(bad("HTTPS://x:443/", "https:// is not supported"), 0);
}

TEST(other_schemes_rejected) {
  CHECK_EQ(bad("ftp://x", "http://"), 0);
  CHECK_EQ(bad("x:80/ping", "http://"), 0);
  CHECK_EQ(bad("http:/x/", "http://"), 0);
  CHECK_EQ(bad("", "empty"), 0);
}

TEST(missing_host_rejected) {
  CHECK_EQ(bad("http://", "missing host"), 0);
  CHECK_EQ(bad("http://:80/", "missing host"), 0);
  CHECK_EQ(bad("http:///path", "missing host"), 0);
  CHECK_EQ(bad("http://[]:80/", "missing host"), 0);
}

TEST(bad_ports_rejected) {
  CHECK_EQ(bad("http://h:0/", "port out of range"), 0);
  CHECK_EQ(bad("http://h:65536/", "port out of range"), 0);
  CHECK_EQ(bad("http://h:99999999999999999999999/", "port out of range"), 0);
  CHECK_EQ(bad("http://h:8x/", "port is not a number"), 0);
  CHECK_EQ(bad("http://h:-1/", "port is not a number"), 0);
  CHECK_EQ(bad("http://h: 80/", "port is not a number"), 0);
  CHECK_EQ(bad("http://h:/", "empty port"), 0);
  CHECK_EQ(bad("http://[::1]:/", "empty port"), 0);
  CHECK_EQ(bad("http://[::1]:0/", "port out of range"), 0);
}

TEST(user_info_rejected) {
  CHECK_EQ(bad("http://u@h/", "user info"), 0);
  CHECK_EQ(bad("http://u:p@h:80/", "user info"), 0);
}

TEST(fragment_rejected) {
  CHECK_EQ(bad("http://h/#f", "fragment"), 0);
  CHECK_EQ(bad("http://h#f", "fragment"), 0);
  CHECK_EQ(bad("http://h/p?q=1#f", "fragment"), 0);
}

TEST(bad_path_characters_rejected) {
  CHECK_EQ(bad("http://h/a b", "invalid character in path"), 0);
  CHECK_EQ(bad("http://h/a\tb", "invalid character in path"), 0);
  CHECK_EQ(bad("http://h/a\r\nHost: evil", "invalid character in path"), 0);
  CHECK_EQ(bad("http://h/\x7f", "invalid character in path"), 0);
  CHECK_EQ(bad("http://h/caf\xc3\xa9", "invalid character in path"), 0);
}

TEST(bad_host_characters_rejected) {
  CHECK_EQ(bad("http://h st/", "invalid character in host"), 0);
  CHECK_EQ(bad("http://h%41/", "invalid character in host"), 0);
  CHECK_EQ(bad("http://[::g]/", "invalid character in [IPv6]"), 0);
}

TEST(bad_ipv6_brackets_rejected) {
  CHECK_EQ(bad("http://[::1/", "unterminated"), 0);
  CHECK_EQ(bad("http://[::1", "unterminated"), 0);
  CHECK_EQ(bad("http://[::1]x/", "expected ':'"), 0);
}

TEST(too_long_rejected) {
  static char text[LBSIM_URL_MAX + 64];
  strcpy(text, "http://h/");
  size_t len = strlen(text);
  memset(text + len, 'a', LBSIM_URL_MAX + 1 - len);
  text[LBSIM_URL_MAX + 1] = '\0';
  CHECK_EQ(bad(text, "longer than"), 0);
  /* exactly the limit is fine */
  text[LBSIM_URL_MAX] = '\0';
  CHECK_EQ(parse(text), 0);
  CHECK_EQ(strlen(url.path), LBSIM_URL_MAX - 8);
}

TEST(host_too_long_rejected) {
  static char text[512];
  strcpy(text, "http://");
  memset(text + 7, 'a', 300);
  strcpy(text + 307, "/");
  CHECK_EQ(bad(text, "too long"), 0);
}

TEST(error_message_is_truncated_safely) {
  char small[8];
  memset(small, 'x', sizeof(small));
  CHECK_EQ(lbsim_url_parse(&url, "https://x/", small, sizeof(small)), LBSIM_EINVAL);
  CHECK_EQ(strlen(small), sizeof(small) - 1);
}
