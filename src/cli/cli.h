#ifndef MO_CLI_H
#define MO_CLI_H
int cli_main(int argc, char **argv);
#endif
