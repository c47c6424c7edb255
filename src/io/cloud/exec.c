#include "io/cloud/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "model/gpu.h"

typedef struct execprov {
    char *launch, *terminate, *list;
    long timeout_ms;
} execprov;

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* A provider command that exits without reading its stdin must not kill the controller with
 * SIGPIPE: block the signal for this write and consume it if the write raised it, leaving the
 * process-wide disposition alone (a library does not own it). */
static ssize_t write_nosigpipe(int fd, const char *buf, size_t len) {
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t w = write(fd, buf, len);
    int saved = errno;
    if (w < 0 && saved == EPIPE) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {}
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return w;
}

int gs_exec_json(const char *what, const char *cmd, const json_t *input, long timeout_ms, json_t **out, gs_error *err) {
    *out = NULL;
    char *in = input ? json_dumps(input, JSON_COMPACT) : strdup("{}");
    if (!in) return GS_ENOMEM;
    int pin[2], pout[2], perr[2];
    if (pipe(pin) || pipe(pout) || pipe(perr)) {
        free(in);
        return gs_error_set(err, GS_EIO, "exec %s: pipe: %s", what, strerror(errno));
    }
    pid_t pid = fork();
    if (pid < 0) {
        free(in);
        close(pin[0]); close(pin[1]); close(pout[0]); close(pout[1]); close(perr[0]); close(perr[1]);
        return gs_error_set(err, GS_EIO, "exec %s: fork: %s", what, strerror(errno));
    }
    if (pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        dup2(perr[1], 2);
        close(pin[0]); close(pin[1]); close(pout[0]); close(pout[1]); close(perr[0]); close(perr[1]);
        setpgid(0, 0);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    fcntl(pin[1], F_SETFL, O_NONBLOCK);
    size_t inlen = strlen(in), inoff = 0;
    char *ob = malloc(GS_EXEC_MAX_OUT + 1);
    char eb[2048];
    size_t on = 0, en = 0;
    bool toobig = false, timed_out = false;
    int64_t deadline = mono_ms() + timeout_ms;
    int open_out = 1, open_err = 1, open_in = 1;
    if (inlen == 0) { close(pin[1]); open_in = 0; }
    while ((open_out || open_err) && ob) {
        struct pollfd fds[3];
        int nf = 0, iout = -1, ierr = -1, iin = -1;
        if (open_out) { fds[nf].fd = pout[0]; fds[nf].events = POLLIN; iout = nf++; }
        if (open_err) { fds[nf].fd = perr[0]; fds[nf].events = POLLIN; ierr = nf++; }
        if (open_in) { fds[nf].fd = pin[1]; fds[nf].events = POLLOUT; iin = nf++; }
        int64_t left = deadline - mono_ms();
        if (left <= 0) { timed_out = true; break; }
        int r = poll(fds, (nfds_t)nf, (int)left);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) { timed_out = r == 0; break; }
        if (iin >= 0 && fds[iin].revents) {
            ssize_t w = write_nosigpipe(pin[1], in + inoff, inlen - inoff);
            if (w > 0) inoff += (size_t)w;
            if (w < 0 && errno != EAGAIN) inoff = inlen;
            if (inoff >= inlen) { close(pin[1]); open_in = 0; }
        }
        if (iout >= 0 && fds[iout].revents) {
            char tmp[8192];
            ssize_t n = read(pout[0], tmp, sizeof tmp);
            if (n <= 0) { close(pout[0]); open_out = 0; }
            else if (on + (size_t)n > GS_EXEC_MAX_OUT) { toobig = true; break; }
            else { memcpy(ob + on, tmp, (size_t)n); on += (size_t)n; }
        }
        if (ierr >= 0 && fds[ierr].revents) {
            char tmp[2048];
            ssize_t n = read(perr[0], tmp, sizeof tmp);
            if (n <= 0) { close(perr[0]); open_err = 0; }
            else {
                size_t keep = (size_t)n;
                if (en + keep >= sizeof eb) { /* keep the tail */
                    size_t drop = en + keep - (sizeof eb - 1);
                    if (drop > en) drop = en;
                    memmove(eb, eb + drop, en - drop);
                    en -= drop;
                    if (keep > sizeof eb - 1 - en) keep = sizeof eb - 1 - en;
                }
                memcpy(eb + en, tmp, keep);
                en += keep;
            }
        }
    }
    if (open_in) close(pin[1]);
    if (open_out) close(pout[0]);
    if (open_err) close(perr[0]);
    if (timed_out || toobig) kill(-pid, SIGKILL);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    free(in);
    eb[en] = '\0';
    while (en > 0 && (eb[en - 1] == '\n' || eb[en - 1] == ' ')) eb[--en] = '\0';
    int rc = 0;
    if (!ob) rc = GS_ENOMEM;
    else if (timed_out) rc = gs_error_set(err, GS_ETIMEOUT, "exec %s: `%s` ran past %ld ms (killed)", what, cmd, timeout_ms);
    else if (toobig) rc = gs_error_set(err, GS_ETOOBIG, "exec %s: `%s` wrote more than %u bytes", what, cmd, GS_EXEC_MAX_OUT);
    else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        rc = gs_error_set(err, GS_EPEER, "exec %s: `%s` exited with %d: %s", what, cmd,
                          WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), en ? eb : "(no stderr)");
    else {
        ob[on] = '\0';
        size_t i = 0;
        while (i < on && (ob[i] == ' ' || ob[i] == '\n' || ob[i] == '\t' || ob[i] == '\r')) i++;
        if (i < on) {
            json_error_t je;
            *out = json_loadb(ob + i, on - i, 0, &je);
            if (!*out)
                rc = gs_error_set(err, GS_EPARSE, "exec %s: `%s` printed malformed JSON (line %d col %d: %s)", what, cmd,
                                  je.line, je.column, je.text);
        }
    }
    free(ob);
    return rc;
}

json_t *gs_exec_launch_json(const gs_launch_req *req) {
    json_t *labels = json_object();
    for (int i = 0; i < req->nlabels; i++) json_object_set_new(labels, req->labels[i].key, json_string(req->labels[i].value));
    json_t *taints = json_array();
    static const char *const eff[] = {"NoSchedule", "PreferNoSchedule", "NoExecute"};
    for (int i = 0; i < req->ntaints; i++)
        json_array_append_new(taints, json_pack("{s:s,s:s,s:s}", "key", req->taints[i].key, "value", req->taints[i].value,
                                                "effect", eff[req->taints[i].effect]));
    json_t *gpus = json_array();
    for (int g = 0; g < req->ngpus; g++) {
        const gs_gpu_state *s = &req->gpus[g];
        json_array_append_new(gpus, json_pack("{s:s,s:i}", "mode", s->mode == GS_GPUMODE_MIG ? "mig" : "whole",
                                              "migInstances", s->mode == GS_GPUMODE_MIG ? (int)s->nparts : 0));
    }
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:s,s:o}", "nodeName", req->node_name, "instanceType", req->itype,
                     "capacityType", gs_capacity_name(req->capacity), "zone", req->zone, "pool", req->pool, "labels", labels,
                     "taints", taints, "migConfig", req->mig_config, "gpus", gpus);
}

int gs_exec_parse_instance(const json_t *o, const char *what, gs_instance *out, gs_error *err) {
    memset(out, 0, sizeof *out);
    if (!json_is_object(o)) return gs_error_set(err, GS_EPARSE, "exec %s: an instance must be a JSON object", what);
    const char *id = json_string_value(json_object_get(o, "id"));
    if (!id || !id[0]) return gs_error_set(err, GS_EPARSE, "exec %s: instance without \"id\"", what);
    if (strlen(id) >= sizeof out->id) return gs_error_set(err, GS_ETOOBIG, "exec %s: id longer than %zu", what, sizeof out->id - 1);
    snprintf(out->id, sizeof out->id, "%s", id);
    const char *v;
    if ((v = json_string_value(json_object_get(o, "nodeName")))) snprintf(out->node_name, sizeof out->node_name, "%s", v);
    if ((v = json_string_value(json_object_get(o, "instanceType")))) snprintf(out->itype, sizeof out->itype, "%s", v);
    if ((v = json_string_value(json_object_get(o, "zone")))) snprintf(out->zone, sizeof out->zone, "%s", v);
    if ((v = json_string_value(json_object_get(o, "pool")))) snprintf(out->pool, sizeof out->pool, "%s", v);
    v = json_string_value(json_object_get(o, "capacityType"));
    if (v) {
        int c = gs_capacity_parse(v);
        if (c < 0) return gs_error_set(err, GS_EPARSE, "exec %s: capacityType \"%s\" (spot or on-demand)", what, v);
        out->capacity = (gs_capacity)c;
    }
    return 0;
}

static int ex_launch(void *self, const gs_launch_req *req, gs_instance *out, gs_error *err) {
    execprov *x = self;
    json_t *in = gs_exec_launch_json(req);
    json_t *o = NULL;
    int rc = gs_exec_json("launch", x->launch, in, x->timeout_ms, &o, err);
    json_decref(in);
    if (rc == 0 && !o) rc = gs_error_set(err, GS_EPARSE, "exec launch: `%s` printed nothing (an instance object expected)", x->launch);
    if (rc == 0) rc = gs_exec_parse_instance(o, "launch", out, err);
    if (rc == 0 && !out->node_name[0]) snprintf(out->node_name, sizeof out->node_name, "%s", req->node_name);
    json_decref(o);
    return rc;
}

static int ex_terminate(void *self, const char *id, gs_error *err) {
    execprov *x = self;
    json_t *in = json_pack("{s:s}", "id", id);
    json_t *o = NULL;
    int rc = gs_exec_json("terminate", x->terminate, in, x->timeout_ms, &o, err);
    json_decref(in);
    json_decref(o);
    return rc;
}

static int ex_list(void *self, gs_instance **out, int32_t *n, gs_error *err) {
    execprov *x = self;
    *out = NULL;
    *n = 0;
    json_t *o = NULL;
    int rc = gs_exec_json("list", x->list, NULL, x->timeout_ms, &o, err);
    if (rc) return rc;
    const json_t *arr = json_is_array(o) ? o : json_object_get(o, "instances");
    if (!json_is_array(arr)) {
        json_decref(o);
        return gs_error_set(err, GS_EPARSE, "exec list: `%s` must print a JSON array of instances", x->list);
    }
    size_t cnt = json_array_size(arr);
    gs_instance *v = calloc(cnt ? cnt : 1, sizeof *v);
    if (!v) {
        json_decref(o);
        return GS_ENOMEM;
    }
    for (size_t i = 0; i < cnt && rc == 0; i++) rc = gs_exec_parse_instance(json_array_get(arr, i), "list", &v[i], err);
    json_decref(o);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = (int32_t)cnt;
    return 0;
}

static void ex_destroy(void *self) {
    execprov *x = self;
    free(x->launch);
    free(x->terminate);
    free(x->list);
    free(x);
}

static const gs_provider_ops EXEC_OPS = {.name = "exec", .launch = ex_launch, .terminate = ex_terminate,
                                         .list = ex_list, .tick = NULL, .destroy = ex_destroy};

int gs_execprov_new(const char *launch_cmd, const char *terminate_cmd, const char *list_cmd, long timeout_ms,
                    gs_provider *out, gs_error *err) {
    execprov *x = calloc(1, sizeof *x);
    if (!x) return GS_ENOMEM;
    x->launch = strdup(launch_cmd);
    x->terminate = strdup(terminate_cmd);
    x->list = strdup(list_cmd);
    x->timeout_ms = timeout_ms > 0 ? timeout_ms : 60000;
    if (!x->launch || !x->terminate || !x->list) {
        ex_destroy(x);
        return gs_error_set(err, GS_ENOMEM, "exec provider: out of memory");
    }
    out->ops = &EXEC_OPS;
    out->self = x;
    return 0;
}
