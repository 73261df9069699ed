/* Files written whole (lbsim/base/file.h): a temporary file beside the
 * target, renamed over it; the target's mode kept; streams written
 * directly; nothing left behind. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "lbsim/base/error.h"
#include "lbsim/base/file.h"

static int write_text(FILE *out, const void *arg) {
  fputs(arg, out);
  return 0;
}

static int write_fails(FILE *out, const void *arg) {
  fputs(arg, out);
  return LBSIM_EINVAL;
}

static char dir[64];

/* A fresh directory for the test. */
static bool make_dir(void) {
  strcpy(dir, "/tmp/lbsim-test-file-XXXXXX");
  return mkdtemp(dir) != NULL;
}

/* A name in it; two of them can be used at once. */
static const char *in_dir(const char *name) {
  static char paths[2][512];
  static int next;
  char *path = paths[next++ % 2];
  snprintf(path, sizeof(paths[0]), "%s/%s", dir, name);
  return path;
}

static int entries(void) {
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d)) != NULL;)
    n += e->d_name[0] != '.' || (e->d_name[1] != '\0' && e->d_name[1] != '.');
  if (d)
    closedir(d);
  return n;
}

static bool holds(const char *path, const char *text) {
  char buf[256] = "";
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return false;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  return strcmp(buf, text) == 0;
}

static void clean(void) {
  DIR *d = opendir(dir);
  for (struct dirent *e; d && (e = readdir(d)) != NULL;)
    if (e->d_name[0] != '.' || (e->d_name[1] != '\0' && e->d_name[1] != '.'))
      unlink(in_dir(e->d_name));
  if (d)
    closedir(d);
  rmdir(dir);
}

TEST(a_new_file_appears_whole_and_nothing_else) {
  CHECK(make_dir());
  lbsim_file_t f = {0};
  CHECK_EQ(lbsim_file_open(&f, in_dir("r.svg")), 0);
  CHECK(access(in_dir("r.svg"), F_OK) != 0); /* not yet: a temporary file beside it */
  CHECK_EQ(entries(), 1);
  CHECK_EQ(lbsim_file_commit(&f, write_text, "new\n"), 0);
  CHECK(holds(in_dir("r.svg"), "new\n"));
  CHECK_EQ(entries(), 1);
  clean();
}

TEST(a_failed_write_leaves_the_old_file_and_its_mode) {
  CHECK(make_dir());
  FILE *old = fopen(in_dir("r.svg"), "w");
  CHECK(old != NULL);
  fputs("old\n", old);
  fclose(old);
  CHECK_EQ(chmod(in_dir("r.svg"), 0640), 0);
  lbsim_file_t f = {0};
  CHECK_EQ(lbsim_file_open(&f, in_dir("r.svg")), 0);
  CHECK_EQ(lbsim_file_commit(&f, write_fails, "half"), LBSIM_EINVAL);
  CHECK(holds(in_dir("r.svg"), "old\n"));
  CHECK_EQ(entries(), 1);
  /* Abandoned, the same. */
  CHECK_EQ(lbsim_file_open(&f, in_dir("r.svg")), 0);
  lbsim_file_abandon(&f);
  CHECK(holds(in_dir("r.svg"), "old\n"));
  CHECK_EQ(entries(), 1);
  /* Written, the mode stays. */
  CHECK_EQ(lbsim_file_open(&f, in_dir("r.svg")), 0);
  CHECK_EQ(lbsim_file_commit(&f, write_text, "new\n"), 0);
  struct stat st;
  CHECK_EQ(stat(in_dir("r.svg"), &st), 0);
  CHECK_EQ(st.st_mode & 07777, 0640);
  CHECK(holds(in_dir("r.svg"), "new\n"));
  clean();
}

TEST(a_missing_directory_is_known_at_open) {
  lbsim_file_t f = {0};
  CHECK_EQ(lbsim_file_open(&f, "/nonexistent/x.svg"), -ENOENT);
  CHECK_EQ(lbsim_file_commit(&f, write_text, "x"), LBSIM_EIO); /* nothing to write to */
  lbsim_file_abandon(&f);                                     /* nor to abandon */
  lbsim_file_t never = {0};
  lbsim_file_abandon(&never); /* all zero: not open */
}

TEST(a_full_device_says_so) {
  lbsim_file_t f = {0};
  CHECK_EQ(lbsim_file_open(&f, "/dev/full"), 0); /* not a regular file: written directly */
  CHECK_EQ(lbsim_file_commit(&f, write_text, "x"), -ENOSPC);
  CHECK_EQ(lbsim_file_open(&f, "/dev/null"), 0);
  CHECK_EQ(lbsim_file_commit(&f, write_text, "x"), 0);
}

TEST(through_a_link_the_file_is_replaced_and_the_link_stays) {
  CHECK(make_dir());
  FILE *old = fopen(in_dir("r.svg"), "w");
  CHECK(old != NULL);
  fclose(old);
  CHECK_EQ(symlink("r.svg", in_dir("link.svg")), 0);
  lbsim_file_t f = {0};
  CHECK_EQ(lbsim_file_open(&f, in_dir("link.svg")), 0);
  CHECK_EQ(lbsim_file_commit(&f, write_text, "new\n"), 0);
  struct stat st;
  CHECK_EQ(lstat(in_dir("link.svg"), &st), 0);
  CHECK(S_ISLNK(st.st_mode));
  CHECK(holds(in_dir("r.svg"), "new\n"));
  CHECK(lbsim_file_same(in_dir("link.svg"), in_dir("r.svg")));
  CHECK(!lbsim_file_same(in_dir("r.svg"), in_dir("none")));
  CHECK_EQ(entries(), 2);
  clean();
}

TEST(temporary_files_are_removed_for_a_process_about_to_end) {
  CHECK(make_dir());
  lbsim_file_t f = {0};
  CHECK_EQ(lbsim_file_open(&f, in_dir("r.svg")), 0);
  CHECK_EQ(entries(), 1);
  lbsim_file_remove_temps();
  CHECK_EQ(entries(), 0);
  lbsim_file_abandon(&f);
  clean();
}
