/* Runs a fuzz harness over files without libFuzzer: every file named on the
 * command line, and every file in every directory named there (the seed
 * corpus and the kept crash inputs). Exit 0 when all ran; a broken
 * invariant aborts. */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
    return -1;
  }
  size_t cap = 4096, len = 0;
  uint8_t *data = malloc(cap);
  size_t n;
  while (data && (n = fread(data + len, 1, cap - len, f)) > 0) {
    len += n;
    if (len == cap) {
      uint8_t *bigger = realloc(data, cap *= 2);
      if (bigger == NULL)
        free(data);
      data = bigger;
    }
  }
  fclose(f);
  if (data == NULL)
    return -1;
  /* libFuzzer hands over a buffer of exactly the input's size: so does this. */
  uint8_t *exact = malloc(len ? len : 1);
  memcpy(exact, data, len);
  free(data);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  return 0;
}

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path, int *count) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
    return -1;
  }
  if (!S_ISDIR(st.st_mode)) {
    (*count)++;
    return run_file(path);
  }
  DIR *d = opendir(path);
  if (d == NULL)
    return -1;
  char **names = NULL;
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    char **more = realloc(names, (n + 1) * sizeof(*names));
    if (more == NULL)
      break;
    names = more;
    size_t len = strlen(path) + strlen(e->d_name) + 2;
    names[n] = malloc(len);
    snprintf(names[n++], len, "%s/%s", path, e->d_name);
  }
  closedir(d);
  if (n > 1)
    qsort(names, n, sizeof(*names), cmp);
  int err = 0;
  for (size_t i = 0; i < n; i++) {
    if (run_path(names[i], count) != 0)
      err = -1;
    free(names[i]);
  }
  free(names);
  return err;
}

int main(int argc, char **argv) {
  int count = 0, err = 0;
  for (int i = 1; i < argc; i++)
    if (run_path(argv[i], &count) != 0)
      err = 1;
  printf("replayed %d inputs\n", count);
  return err;
}
