/*
 * `cairn start`: run the production build. The server binary does all the
 * work (cn_main: .env files, cairn.json, PORT and HOSTNAME, the routes), so
 * this command only checks that a build exists and becomes it with exec:
 * nothing stands between the user and the server, the process id is the
 * server's (signals, process managers), and it is ready in milliseconds.
 */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

int cn__cli_cmd_start(const cn__cli *c, int argc, char **argv) {
  const char *dir = NULL, *port = NULL, *host = NULL;
  char root[CN__CLI_PATH];
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      cn__cli_usage(stdout, "start");
      return 0;
    }
    int used = cn__cli_listen_opt(c, argc, argv, i, &port, &host);
    if (used < 0)
      return 2;
    if (used) {
      i += used - 1;
      continue;
    }
    if (argv[i][0] == '-' || dir) {
      cn__cli_error(c, "start: unexpected argument '%s'", argv[i]);
      cn__cli_usage(stderr, "start");
      return 2;
    }
    dir = argv[i];
  }
  if (cn__cli_enter(c, dir, root))
    return 1;
  struct stat st;
  if (stat(".cairn/server", &st) || !S_ISREG(st.st_mode)) {
    cn__cli_error(c,
                  "Could not find a production build in the '%s/.cairn' "
                  "directory. Try building your app with 'cairn build' "
                  "before starting the production server.",
                  root);
    return 1;
  }
  char *args[8];
  int n = 0;
  args[n++] = "cairn";
  if (port) {
    args[n++] = "--port";
    args[n++] = (char *)port;
  }
  if (host) {
    args[n++] = "--hostname";
    args[n++] = (char *)host;
  }
  args[n] = NULL;
  fflush(stdout);
  execv(".cairn/server", args);
  cn__cli_error(c, "%s/.cairn/server: %s", root, strerror(errno));
  return 1;
}
