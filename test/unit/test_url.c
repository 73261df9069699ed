#include "harness.h"
#include "lbsim/url.h"

TEST(parses_the_usual_forms) {
  lbsim_url_t u;
  char err[128];
  CHECK_EQ(lbsim_url_parse(&u, "http://127.0.0.1:5001/ping", err, sizeof(err)), 0);
  CHECK_STR_EQ(u.host, "127.0.0.1");
  CHECK_EQ(u.port, 5001);
  CHECK_STR_EQ(u.path, "/ping");
  CHECK_STR_EQ(u.authority, "127.0.0.1:5001");
  CHECK_STR_EQ(u.text, "http://127.0.0.1:5001/ping");

  CHECK_EQ(lbsim_url_parse(&u, "http://[::1]:8080/x?y=1", err, sizeof(err)), 0);
  CHECK_STR_EQ(u.host, "::1");
  CHECK_EQ(u.port, 8080);
  CHECK_STR_EQ(u.path, "/x?y=1");
  CHECK_STR_EQ(u.authority, "[::1]:8080");

  CHECK_EQ(lbsim_url_parse(&u, "http://example.com", err, sizeof(err)), 0);
  CHECK_EQ(u.port, 80);
  CHECK_STR_EQ(u.path, "/");

  CHECK_EQ(lbsim_url_parse(&u, "HTTP://h:1?q", err, sizeof(err)), 0);
  CHECK_EQ(u.port, 1);
  CHECK_STR_EQ(u.path, "/?q");
}

static int rejects(const char *text, const char *why) {
  lbsim_url_t u;
  char err[128] = "";
  REQUIRE(lbsim_url_parse(&u, text, err, sizeof(err)) == -1);
  if (strstr(err, why) == NULL) {
    lbsim_test_fail(__FILE__, __LINE__, "'%s': message '%s' lacks '%s'", text, err, why);
    return -1;
  }
  return 0;
}

TEST(rejects_bad_urls_with_a_reason) {
  CHECK(rejects("https://x/", "https:// is not supported") == 0);
  CHECK(rejects("ftp://x/", "expected http://") == 0);
  CHECK(rejects("127.0.0.1:80/ping", "expected http://") == 0);
  CHECK(rejects("", "empty") == 0);
  CHECK(rejects("http://", "missing host") == 0);
  CHECK(rejects("http://:80/", "missing host") == 0);
  CHECK(rejects("http://h:0/", "port out of range") == 0);
  CHECK(rejects("http://h:65536/", "port out of range") == 0);
  CHECK(rejects("http://h:8x/", "port is not a number") == 0);
  CHECK(rejects("http://h:/", "empty port") == 0);
  CHECK(rejects("http://u@h/", "user info") == 0);
  CHECK(rejects("http://h/#f", "fragment") == 0);
  CHECK(rejects("http://h/a b", "invalid character in path") == 0);
  CHECK(rejects("http://[::1/", "unterminated") == 0);
  CHECK(rejects("http://h_o st/", "invalid character in host") == 0);
}
