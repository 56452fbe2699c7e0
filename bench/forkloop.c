/* mo-bench-forkloop: the floor for Interface calls (bench/bench.sh, scale).
 *
 *   mo-bench-forkloop COUNT PROGRAM [ARGS...]
 *
 * COUNT times: fork, exec PROGRAM ARGS with stdout on a pipe that is read to its end
 * (as the orchestrator collects a query's answer), wait. Nothing else: no journal, no
 * work dir, no parsing. Exit 0 if every run exited 0. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: mo-bench-forkloop COUNT PROGRAM [ARGS...]\n");
        return 2;
    }
    long count = strtol(argv[1], NULL, 10);
    for (long i = 0; i < count; i++) {
        int p[2];
        if (pipe(p) != 0) {
            perror("pipe");
            return 1;
        }
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            dup2(p[1], 1);
            close(p[0]);
            close(p[1]);
            execv(argv[2], argv + 2);
            _exit(127);
        }
        close(p[1]);
        char buf[4096];
        while (read(p[0], buf, sizeof(buf)) > 0)
            ;
        close(p[0]);
        int st;
        if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "mo-bench-forkloop: run %ld failed\n", i);
            return 1;
        }
    }
    return 0;
}
