/*
 * The `cairn` command: one word per step of an app's life, as `next` has.
 * This file dispatches and holds every help text, so they read as one.
 */
#include <stdlib.h>

#include "cli/cli.h"

static const struct {
  const char *name;
  int (*run)(const cn__cli *c, int argc, char **argv);
  const char *args, *summary, *help;
} commands[] = {
    {"new", cn__cli_cmd_new, "<dir>",
     "create an app that `cairn dev` serves at once",
     "Writes a small app into <dir> (which must not exist or be empty):\n"
     "app/layout.html and app/page.html, an API route app/api/hello/route.c,\n"
     "public/cairn.svg, .gitignore and a README.\n"},
    {"dev", cn__cli_cmd_dev, "[dir] [-p port] [-H hostname]",
     "serve the app for development, rebuilding on save",
     "Compiles each route file on its own and serves the app, then watches\n"
     "app/, pages/, data/, public/, middleware.c, cairn.json and the .env\n"
     "files. A changed route file is compiled alone and swapped into the\n"
     "running server; a compile error is printed here and shown in the\n"
     "browser until it is fixed, while the last code that compiled keeps\n"
     "answering; open pages reload by themselves after a change.\n"
     "\n"
     "  -p, --port PORT          port to listen on (PORT, cairn.json, 3000)\n"
     "  -H, --hostname HOSTNAME  address to listen on (HOSTNAME, cairn.json,\n"
     "                           127.0.0.1)\n"},
    {"build", cn__cli_cmd_build, "[dir]",
     "make a production build in <dir>/.cairn",
     "Compiles every route file and middleware.c (in parallel, skipping\n"
     "files that have not changed) and links them with libcairn into one\n"
     "server binary, <dir>/.cairn/server, then prints the route table.\n"
     "Route conflicts and compile errors fail the build with the file and\n"
     "line.\n"},
    {"start", cn__cli_cmd_start, "[dir] [-p port] [-H hostname]",
     "run the production build",
     "Runs <dir>/.cairn/server in <dir>, as `next start` runs .next.\n"
     "\n"
     "  -p, --port PORT          port to listen on (PORT, cairn.json, 3000)\n"
     "  -H, --hostname HOSTNAME  address to listen on (HOSTNAME, cairn.json,\n"
     "                           127.0.0.1)\n"},
    {"routes", cn__cli_cmd_routes, "[dir]",
     "print the route table without building",
     "Lists every route of the app in the order requests are matched,\n"
     "with its kind and the file it comes from; conflicts are errors.\n"},
};

static void general_usage(FILE *f) {
  fprintf(f, "Usage: cairn <command> [options]\n\nCommands:\n");
  for (size_t i = 0; i < CN__ARRAY_LEN(commands); i++)
    fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\nOptions:\n"
             "  -h, --help     show help (cairn <command> --help for one "
             "command)\n"
             "  -v, --version  print the version\n"
             "\nAn app is a directory: app/**/route.c and pages/api/**.c are "
             "its routes,\npublic/ its static files. See cairn(1).\n");
}

void cn__cli_usage(FILE *f, const char *command) {
  for (size_t i = 0; command && i < CN__ARRAY_LEN(commands); i++) {
    if (strcmp(commands[i].name, command))
      continue;
    const char *sum = commands[i].summary;
    fprintf(f, "Usage: cairn %s %s\n\n%c%s.\n\n%s\n  -h, --help               "
               "show this help\n",
            commands[i].name, commands[i].args,
            sum[0] >= 'a' && sum[0] <= 'z' ? sum[0] - 32 : sum[0], sum + 1,
            commands[i].help);
    return;
  }
  general_usage(f);
}

int main(int argc, char **argv) {
  cn__cli c;
  cn__cli_init(&c);
  if (argc < 2) {
    general_usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
    if (argc > 2 && strcmp(cmd, "help") == 0) {
      cn__cli_usage(stdout, argv[2]);
      return 0;
    }
    general_usage(stdout);
    return 0;
  }
  if (!strcmp(cmd, "-v") || !strcmp(cmd, "--version") ||
      !strcmp(cmd, "version")) {
    printf("cairn %s\n", CN_VERSION_STRING);
    return 0;
  }
  /* The server process of `cairn dev`: not a command for people. */
  if (!strcmp(cmd, "__dev-server"))
    return cn__cli_cmd_dev_serve(&c, argc - 1, argv + 1);
  for (size_t i = 0; i < CN__ARRAY_LEN(commands); i++)
    if (!strcmp(commands[i].name, cmd))
      return commands[i].run(&c, argc - 1, argv + 1);
  cn__cli_error(&c, "unknown command '%s'", cmd);
  general_usage(stderr);
  return 2;
}
