/*
 * `cairn new <dir>`: a small app that `cairn dev` serves at once: a root
 * layout (with its metadata in layout.c) and page, an API route, a
 * public file, .gitignore and a README that is enough to start from.
 */
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

#include "cli/cli.h"

static const char layout_html[] =
    "<!doctype html>\n"
    "<html lang=\"en\">\n"
    "  <head>\n"
    "    <link rel=\"icon\" href=\"/cairn.svg\">\n"
    "  </head>\n"
    "  <body>\n"
    "    {{{children}}}\n"
    "  </body>\n"
    "</html>\n";

/* The title and description go into every page's <head>, with the
 * charset and viewport tags cairn adds by itself. */
static const char layout_c[] =
    "/* The root layout's metadata, merged into the <head> of every page.\n"
    " * A loader here could give the layout data too (see CN_LAYOUT in\n"
    " * <cairn.h>). */\n"
    "#include <cairn.h>\n"
    "\n"
    "CN_LAYOUT(.metadata = {.title = \"Welcome to cairn\",\n"
    "                       .description = \"An app made with cairn new.\"});\n";

static const char page_html[] =
    "<main>\n"
    "  <img src=\"/cairn.svg\" alt=\"\" width=\"48\" height=\"48\">\n"
    "  <h1>Welcome to cairn</h1>\n"
    "  <p>Edit <code>app/page.html</code> to change this page, and\n"
    "     <code>app/api/hello/route.c</code> to change\n"
    "     <a href=\"/api/hello\">/api/hello</a>.</p>\n"
    "</main>\n";

static const char route_c[] =
    "/* GET /api/hello: a route handler. Change it while `cairn dev` runs:\n"
    " * the next request gets the new code. Try /api/hello?name=you. */\n"
    "#include <cairn.h>\n"
    "\n"
    "static int get(cn_req *req, cn_res *res) {\n"
    "  cn_str name = cn_req_query_get(req, \"name\");\n"
    "  if (!name.ptr)\n"
    "    name = CN_STR(\"world\");\n"
    "  char *message = cn_req_printf(req, \"Hello, %.*s!\", (int)name.len,\n"
    "                                name.ptr);\n"
    "  json_t *body = json_pack(\"{s:s}\", \"message\", message);\n"
    "  int rc = cn_res_json(res, 200, body);\n"
    "  json_decref(body);\n"
    "  return rc;\n"
    "}\n"
    "\n"
    "CN_ROUTE(.GET = get);\n";

static const char cairn_svg[] =
    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 64 64\">\n"
    "  <ellipse cx=\"32\" cy=\"54\" rx=\"24\" ry=\"8\" fill=\"#5b6570\"/>\n"
    "  <ellipse cx=\"32\" cy=\"40\" rx=\"18\" ry=\"7\" fill=\"#7a8591\"/>\n"
    "  <ellipse cx=\"32\" cy=\"28\" rx=\"13\" ry=\"6\" fill=\"#98a3ad\"/>\n"
    "  <ellipse cx=\"32\" cy=\"17\" rx=\"8\" ry=\"5\" fill=\"#b8c1c9\"/>\n"
    "</svg>\n";

static const char gitignore[] =
    "# the build (cairn dev and cairn build write here)\n"
    "/.cairn/\n"
    "\n"
    "# local settings and secrets\n"
    ".env*.local\n";

static const char readme[] =
    "# %s\n"
    "\n"
    "A cairn app (cairn: the Next.js server runtime, in C).\n"
    "\n"
    "## Run it\n"
    "\n"
    "```sh\n"
    "cairn dev\n"
    "```\n"
    "\n"
    "then open http://localhost:3000/api/hello (or "
    "http://localhost:3000/api/hello?name=you).\n"
    "\n"
    "Now edit `app/api/hello/route.c`, change the message and save: the next\n"
    "request answers with the new code, without a restart. A mistake is "
    "shown\n"
    "in the terminal and in the browser, with the file and line, until you "
    "fix it.\n"
    "\n"
    "## What is where\n"
    "\n"
    "| path | what it is |\n"
    "|---|---|\n"
    "| `app/api/hello/route.c` | the route handler for `/api/hello`: one C "
    "function per HTTP method (`.GET`, `.POST`, ...) |\n"
    "| `app/layout.html`, `app/page.html` | the root layout and the home "
    "page (Mustache templates; `{{{children}}}` marks where the page goes) "
    "|\n"
    "| `app/layout.c` | the layout's metadata (title, description) and, "
    "optionally, a loader |\n"
    "| `public/` | static files, served at `/` (`/cairn.svg`) |\n"
    "| `.env`, `.env.local` | environment variables, read in C with "
    "`cn_env(\"NAME\")` |\n"
    "| `cairn.json` | server options (port, limits, ...), optional |\n"
    "\n"
    "A new route is a new file: `app/api/users/[id]/route.c` answers\n"
    "`/api/users/42`, and `cn_req_param(req, \"id\")` gives `42`. "
    "`cairn routes`\n"
    "lists every route the app has.\n"
    "\n"
    "## Ship it\n"
    "\n"
    "```sh\n"
    "cairn build     # compiles everything into .cairn/server\n"
    "cairn start     # serves it; -p/--port and PORT choose the port\n"
    "```\n"
    "\n"
    "`man cairn` describes every command and option.\n";

static int write_file(const cn__cli *c, const char *path, const char *text) {
  FILE *f = fopen(path, "wx");
  if (!f || fputs(text, f) < 0 || fclose(f)) {
    cn__cli_error(c, "%s: %s", path, strerror(errno));
    if (f)
      fclose(f);
    return 1;
  }
  return 0;
}

/* mkdir -p */
static int make_path(const char *path) {
  char p[CN__CLI_PATH];
  snprintf(p, sizeof p, "%s", path);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/')
      continue;
    *s = '\0';
    if (mkdir(p, 0777) && errno != EEXIST)
      return -1;
    *s = '/';
  }
  return mkdir(p, 0777) && errno != EEXIST ? -1 : 0;
}

static int is_empty_dir(const char *path) {
  DIR *d = opendir(path);
  if (!d)
    return errno == ENOENT;
  struct dirent *de;
  int empty = 1;
  while (empty && (de = readdir(d)))
    empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
  closedir(d);
  return empty;
}

int cn__cli_cmd_new(const cn__cli *c, int argc, char **argv) {
  const char *dir = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      cn__cli_usage(stdout, "new");
      return 0;
    }
    if (argv[i][0] == '-' || dir) {
      cn__cli_error(c, "new: unexpected argument '%s'", argv[i]);
      cn__cli_usage(stderr, "new");
      return 2;
    }
    dir = argv[i];
  }
  if (!dir) {
    cn__cli_error(c, "new: which directory? (cairn new my-app)");
    cn__cli_usage(stderr, "new");
    return 2;
  }
  if (!is_empty_dir(dir)) {
    cn__cli_error(c, "The directory %s is not empty: choose a new name or "
                     "remove it first.",
                  dir);
    return 1;
  }
  char root[CN__CLI_PATH];
  if (make_path(dir) || cn__cli_enter(c, dir, root)) {
    cn__cli_error(c, "%s: %s", dir, strerror(errno));
    return 1;
  }
  const char *name = strrchr(root, '/') ? strrchr(root, '/') + 1 : root;
  char text[sizeof readme + CN__CLI_PATH];
  snprintf(text, sizeof text, readme, name);
  if (make_path("app/api/hello") || make_path("public")) {
    cn__cli_error(c, "%s: %s", root, strerror(errno));
    return 1;
  }
  if (write_file(c, "app/layout.html", layout_html) ||
      write_file(c, "app/layout.c", layout_c) ||
      write_file(c, "app/page.html", page_html) ||
      write_file(c, "app/api/hello/route.c", route_c) ||
      write_file(c, "public/cairn.svg", cairn_svg) ||
      write_file(c, ".gitignore", gitignore) ||
      write_file(c, "README.md", text))
    return 1;
  int on = c->color_out;
  printf("%s\u2713%s Created %s in %s\n\n"
         "Next:\n  cd %s\n  cairn dev\n\n"
         "then open http://localhost:3000/api/hello\n",
         cn__cli_c(on, CN__C_GREEN), cn__cli_c(on, CN__C_RESET), name, root,
         dir);
  return 0;
}
