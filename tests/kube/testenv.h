/* Test helper (header-only, included by tests/test_kube*.c): builds the control plane if needed
 * (scripts/kube-testenv.sh build; the first run takes minutes, later runs are instant), starts
 * etcd + kube-apiserver + kube-scheduler + kube-controller-manager on free loopback ports in a
 * fresh temporary directory, and stops them at the end. A test that cannot get a control plane
 * exits 77 (CTest SKIP_RETURN_CODE) with the reason on stderr. */
#ifndef GS_TESTS_KUBE_TESTENV_H
#define GS_TESTS_KUBE_TESTENV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../testutil.h"

typedef struct kt_env {
    char dir[256];
    char server[256];
    char admin_kc[320];
    char user_kc[320];
    char ca[320];
    char admin_token[128];
    char user_token[128];
} kt_env;

static void kt_env_value(const char *env, const char *key, char *out, size_t size) {
    const char *p = env;
    size_t kl = strlen(key);
    out[0] = '\0';
    while (p && *p) {
        if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
            const char *v = p + kl + 1;
            size_t n = strcspn(v, "\n");
            if (n >= size) n = size - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return;
        }
        p = strchr(p, '\n');
        if (p) p++;
    }
}

/* Returns 0 when the control plane is up; otherwise prints why and exits 77. */
static int kt_start(kt_env *e, int with_scheduler) {
    memset(e, 0, sizeof *e);
    char *out = NULL;
    if (gs_test_sh("bash " GS_SOURCE_DIR "/scripts/kube-testenv.sh build 2>&1", &out) != 0) {
        fprintf(stderr, "SKIP: the Kubernetes control plane cannot be built on this machine:\n%s\n", out ? out : "");
        free(out);
        exit(77);
    }
    free(out);
    snprintf(e->dir, sizeof e->dir, "/tmp/gs-kubetest-XXXXXX");
    if (!mkdtemp(e->dir)) {
        fprintf(stderr, "SKIP: mkdtemp failed\n");
        exit(77);
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "GS_KUBE_OWNER_PID=%ld %sbash " GS_SOURCE_DIR "/scripts/kube-testenv.sh start %s 2>&1",
             (long)getpid(), with_scheduler ? "" : "GS_KUBE_NO_SCHED=1 ", e->dir);
    if (gs_test_sh(cmd, &out) != 0) {
        fprintf(stderr, "control plane failed to start:\n%s\n", out ? out : "");
        free(out);
        snprintf(cmd, sizeof cmd, "bash " GS_SOURCE_DIR "/scripts/kube-testenv.sh stop %s; rm -rf %s", e->dir, e->dir);
        gs_test_sh(cmd, NULL);
        exit(1);
    }
    free(out);
    char envp[400];
    snprintf(envp, sizeof envp, "%s/env", e->dir);
    FILE *f = fopen(envp, "r");
    char env[4096] = "";
    if (f) {
        size_t n = fread(env, 1, sizeof env - 1, f);
        env[n] = '\0';
        fclose(f);
    }
    kt_env_value(env, "SERVER", e->server, sizeof e->server);
    kt_env_value(env, "CA", e->ca, sizeof e->ca);
    kt_env_value(env, "ADMIN_TOKEN", e->admin_token, sizeof e->admin_token);
    kt_env_value(env, "USER_TOKEN", e->user_token, sizeof e->user_token);
    snprintf(e->admin_kc, sizeof e->admin_kc, "%s/admin.kubeconfig", e->dir);
    snprintf(e->user_kc, sizeof e->user_kc, "%s/user.kubeconfig", e->dir);
    return 0;
}

__attribute__((unused)) static void kt_stop(kt_env *e) {
    if (!e->dir[0]) return;
    char cmd[1024];
    /* GS_KUBETEST_KEEP=1 keeps the directory (logs) for a post-mortem */
    snprintf(cmd, sizeof cmd, "bash " GS_SOURCE_DIR "/scripts/kube-testenv.sh stop %s; [ \"$GS_KUBETEST_KEEP\" = 1 ] || rm -rf %s",
             e->dir, e->dir);
    gs_test_sh(cmd, NULL);
    e->dir[0] = '\0';
}

__attribute__((unused)) static int kt_restart_apiserver(kt_env *e) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "bash " GS_SOURCE_DIR "/scripts/kube-testenv.sh restart-apiserver %s 2>&1", e->dir);
    return gs_test_sh(cmd, NULL);
}

#endif
