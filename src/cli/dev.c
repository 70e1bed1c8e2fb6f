#include "cli/cli.h"
int cn__cli_cmd_dev(const cn__cli *c, int argc, char **argv) { (void)c; (void)argc; (void)argv; return 1; }
int cn__cli_cmd_dev_serve(const cn__cli *c, int argc, char **argv) { (void)c; (void)argc; (void)argv; return 1; }
