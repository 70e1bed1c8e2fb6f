/*
 * Terminal output and small shared steps of every command: colours only
 * where a person is reading, error lines, the app directory, cairn.json.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

static int want_color(int fd) {
  const char *force = getenv("FORCE_COLOR");
  if (force && *force)
    return strcmp(force, "0") != 0;
  const char *no = getenv("NO_COLOR");
  if (no && *no)
    return 0;
  const char *term = getenv("TERM");
  if (term && !strcmp(term, "dumb"))
    return 0;
  return isatty(fd);
}

void cn__cli_init(cn__cli *c) {
  c->color_out = want_color(1);
  c->color_err = want_color(2);
  c->tty_out = isatty(1);
}

const char *cn__cli_c(int on, cn__cli_color color) {
  static const char *const sgr[] = {"\033[0m",  "\033[1m",  "\033[2m",
                                    "\033[31m", "\033[32m", "\033[33m",
                                    "\033[36m", "\033[35m"};
  return on ? sgr[color] : "";
}

static void label(const cn__cli *c, cn__cli_color color, const char *what,
                  const char *fmt, va_list ap) {
  fprintf(stderr, "%s%s%s%s: ", cn__cli_c(c->color_err, CN__C_BOLD),
          cn__cli_c(c->color_err, color), what,
          cn__cli_c(c->color_err, CN__C_RESET));
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

void cn__cli_error(const cn__cli *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  label(c, CN__C_RED, "error", fmt, ap);
  va_end(ap);
}

void cn__cli_warn(const cn__cli *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  label(c, CN__C_YELLOW, "warning", fmt, ap);
  va_end(ap);
}

void cn__cli_ms(uint64_t ms, char out[16]) {
  if (ms < 1000)
    snprintf(out, 16, "%llums", (unsigned long long)ms);
  else
    snprintf(out, 16, "%.1fs", (double)ms / 1000.0);
}

int cn__cli_enter(const cn__cli *c, const char *dir, char *root) {
  struct stat st;
  if (!dir)
    dir = ".";
  if (stat(dir, &st)) {
    cn__cli_error(c, "%s: %s", dir, strerror(errno));
    return 1;
  }
  if (!S_ISDIR(st.st_mode)) {
    cn__cli_error(c, "%s: not a directory", dir);
    return 1;
  }
  if (chdir(dir) || !getcwd(root, CN__CLI_PATH)) {
    cn__cli_error(c, "%s: %s", dir, strerror(errno));
    return 1;
  }
  return 0;
}

int cn__cli_config(const cn__cli *c, cn_config *cfg) {
  char err[512];
  struct stat st;
  cn_config_init(cfg);
  if (stat("cairn.json", &st))
    return 0;
  if (cn_config_load(cfg, "cairn.json", err, sizeof err)) {
    cn__cli_error(c, "%s", err);
    return 1;
  }
  return 0;
}

int cn__cli_listen_opt(const cn__cli *c, int argc, char **argv, int i,
                       const char **port, const char **hostname) {
  const char *a = argv[i];
  const char **slot = NULL;
  const char *name = NULL;
  if (!strcmp(a, "-p") || !strcmp(a, "--port"))
    slot = port, name = "--port";
  else if (!strcmp(a, "-H") || !strcmp(a, "--hostname"))
    slot = hostname, name = "--hostname";
  if (slot) {
    if (i + 1 >= argc) {
      cn__cli_error(c, "%s needs a value", name);
      return -1;
    }
    *slot = argv[i + 1];
    return 2;
  }
  if (!strncmp(a, "--port=", 7)) {
    *port = a + 7;
    return 1;
  }
  if (!strncmp(a, "--hostname=", 11)) {
    *hostname = a + 11;
    return 1;
  }
  return 0;
}
