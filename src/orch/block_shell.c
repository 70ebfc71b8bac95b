/* block_shell.c: the shell block: a command, its output in the log, cancelled as a process group. */
#include "block_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char **shell_env(blk_ctx *c)
{
    orun *r = c->run;
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + (size_t)r->nv + 4, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        env[k++] = environ[i];
    char **own = env + k;
    own[0] = NULL;
    if (asprintf(&own[0], "BOOKPIPE_RUN_ID=%lld", (long long)r->run_id) < 0 ||
        asprintf(&own[1], "BOOKPIPE_BLOCK=%s", c->k->b->name) < 0 ||
        asprintf(&own[2], "BOOKPIPE_ATTEMPT=%d", c->k->attempt) < 0)
        return env; /* fewer variables; the command still runs */
    int m = 3;
    for (int i = 0; i < r->nv; i++)
        if (asprintf(&own[m], "BOOKPIPE_VAR_%s=%s", r->vkeys[i], r->vvals[i]) >= 0)
            m++;
    return env;
}

static void free_env(char **env)
{
    size_t n = 0;
    while (environ[n])
        n++;
    for (char **p = env + n; *p; p++)
        free(*p);
    free(env);
}

bp_status blk_shell_exec(blk_ctx *c, bp_err *err)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return bp_fail(err, BP_EIO, "cannot create a pipe: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    posix_spawnattr_setpgroup(&at, 0); /* its own group: cancel kills all of it */
    sigset_t dflt;
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGINT);
    sigaddset(&dflt, SIGTERM);
    posix_spawnattr_setsigdefault(&at, &dflt);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
    char *argv[] = {"/bin/sh", "-c", c->k->b->command, NULL};
    char **env = shell_env(c);
    pid_t pid;
    int rc = env ? posix_spawn(&pid, "/bin/sh", &fa, &at, argv, env) : ENOMEM;
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (env)
        free_env(env);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return bp_fail(err, BP_EIO, "cannot start /bin/sh: %s", strerror(rc));
    }
    char b[4096];
    bool killed = false;
    double kill_at = 0;
    for (;;) {
        struct pollfd p = {fds[0], POLLIN, 0};
        int k = poll(&p, 1, 100);
        if (k > 0) {
            ssize_t got = read(fds[0], b, sizeof b);
            if (got > 0) {
                fwrite(b, 1, (size_t)got, c->log);
                continue;
            }
            if (got == 0 || errno != EINTR)
                break;
        }
        if (c->k->stop && !killed) {
            kill(-pid, SIGTERM);
            killed = true;
            kill_at = orch_now() + 3;
        } else if (killed && orch_now() > kill_at) {
            kill(-pid, SIGKILL);
            kill_at = orch_now() + 3600;
        }
    }
    close(fds[0]);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    if (killed)
        return bp_fail(err, BP_EINTR, "command stopped");
    if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
        return BP_OK;
    if (WIFEXITED(ws))
        return bp_fail(err, BP_EIO, "command exited with status %d", WEXITSTATUS(ws));
    return bp_fail(err, BP_EIO, "command killed by signal %d", WTERMSIG(ws));
}
