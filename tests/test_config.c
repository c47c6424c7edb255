/* The config loader: every field of the examples as parsed, defaults, units, the
 * all-or-nothing rule, and the limits (size, depth, aliases) on the in-memory API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/config/config.h"
#include "model/gpu.h"
#include "testutil.h"

static gs_catalog CAT;

static int setup(void **st) {
    (void)st;
    gs_test_catalog(&CAT);
    return 0;
}

static int teardown(void **st) {
    (void)st;
    gs_catalog_free(&CAT);
    return 0;
}

static void load_examples(gs_config *c) {
    const char *paths[] = {GS_SOURCE_DIR "/examples/gpupools.yaml", GS_SOURCE_DIR "/examples/queuescalers.yaml",
                           GS_SOURCE_DIR "/examples/budgets.yaml", GS_SOURCE_DIR "/examples/environments.yaml"};
    gs_error e;
    int rc = gs_config_load_files(c, paths, 4, &CAT, &e);
    if (rc) {
        char b[1024];
        fail_msg("examples: %s", gs_error_format(&e, b, sizeof b));
    }
}

static const gs_pool *pool(const gs_config *c, const char *name) {
    int i = gs_config_find_pool(c, name);
    assert_true(i >= 0);
    return &c->pools[i];
}

static const gs_scaler *scaler(const gs_config *c, const char *name) {
    for (int32_t i = 0; i < c->nscalers; i++)
        if (!strcmp(c->scalers[i].name, name)) return &c->scalers[i];
    fail_msg("no scaler %s", name);
    abort();
}

static const char *H = "apiVersion: gpuscale.dev/v1alpha1\n";

/* Loads H + body; returns rc and fills e. */
static int load(gs_config *c, const char *body, gs_error *e) {
    char buf[8192];
    snprintf(buf, sizeof buf, "%s%s", H, body);
    return gs_config_load_string(c, buf, strlen(buf), "t.yaml", &CAT, e);
}

static void load_ok(gs_config *c, const char *body) {
    gs_error e;
    if (load(c, body, &e)) {
        char b[1024];
        fail_msg("%s", gs_error_format(&e, b, sizeof b));
    }
}

static const char *L4POOL = "kind: GPUPool\nmetadata: {name: l4}\nspec:\n  requirements:\n"
                            "    - {key: karpenter.k8s.aws/instance-family, operator: In, values: [g6]}\n";

static void test_pools(void **st) {
    (void)st;
    gs_config c;
    load_examples(&c);
    assert_int_equal(c.npools, 5);
    const gs_pool *p = pool(&c, "mig-h100");
    assert_int_equal(p->weight, 50);
    assert_int_equal(p->nreqs, 2);
    assert_int_equal(p->reqs[0].key, GS_KEY_FAMILY);
    assert_int_equal(p->reqs[0].op, GS_OP_IN);
    assert_int_equal(p->reqs[0].nvalues, 2);
    assert_string_equal(p->reqs[0].values[0], "p5");
    assert_string_equal(p->reqs[0].values[1], "p4de");
    assert_int_equal(p->reqs[1].key, GS_KEY_CAPACITY_TYPE);
    assert_int_equal(gs_pool_capacity_mask(p), GS_CAPMASK_OD);
    assert_int_equal(p->nlabels, 1);
    assert_string_equal(p->labels[0].key, "gpuscale.dev/pool");
    assert_string_equal(p->labels[0].value, "mig-h100");
    assert_int_equal(p->ntaints, 1);
    assert_string_equal(p->taints[0].key, "nvidia.com/gpu");
    assert_string_equal(p->taints[0].value, "true");
    assert_int_equal(p->taints[0].effect, GS_TAINT_NO_SCHEDULE);
    assert_int_equal(p->expire_after, GS_HOUR(720));
    assert_int_equal(p->sharing, GS_SHARE_MIG);
    assert_int_equal(p->n_mig_profiles, 4);
    assert_string_equal(p->mig_profiles[2], "3g.40gb");
    assert_true(gs_pool_allows_profile(p, "7g.80gb"));
    assert_false(gs_pool_allows_profile(p, "4g.40gb"));
    assert_int_equal(p->limit_gpus, 64);
    assert_int_equal(p->limit_nodes, 8);
    assert_int_equal(p->limit_usd_per_hour, GS_USD(450));
    assert_int_equal(p->consolidation, GS_CONSOLIDATE_WHEN_EMPTY_OR_UNDERUTILIZED);
    assert_int_equal(p->consolidate_after, GS_MIN(10));
    assert_int_equal(p->disruption_budget_pct, 20);
    assert_int_equal(p->disruption_budget_nodes, -1);
    assert_true(gs_pool_allows(p, &CAT.types[gs_catalog_find(&CAT, "p5.48xlarge")], GS_CAP_ON_DEMAND, NULL));
    assert_false(gs_pool_allows(p, &CAT.types[gs_catalog_find(&CAT, "p5.48xlarge")], GS_CAP_SPOT, NULL));
    assert_false(gs_pool_allows(p, &CAT.types[gs_catalog_find(&CAT, "g5.xlarge")], GS_CAP_ON_DEMAND, NULL));
    assert_int_equal(p->file, 0);
    assert_true(p->line > 0);

    p = pool(&c, "mig-a100-40");
    assert_int_equal(p->reqs[0].key, GS_KEY_INSTANCE_TYPE);
    assert_string_equal(p->mig_profiles[0], "1g.5gb");

    p = pool(&c, "ts-l4");
    assert_int_equal(p->sharing, GS_SHARE_TIMESLICING);
    assert_int_equal(p->ts_replicas, 4);
    assert_int_equal(p->reqs[1].key, GS_KEY_GPU_COUNT);
    assert_string_equal(p->reqs[1].values[0], "1");
    assert_true(gs_pool_allows(p, &CAT.types[gs_catalog_find(&CAT, "g6.xlarge")], GS_CAP_ON_DEMAND, NULL));
    assert_false(gs_pool_allows(p, &CAT.types[gs_catalog_find(&CAT, "g6.12xlarge")], GS_CAP_ON_DEMAND, NULL));
    assert_int_equal(p->consolidation, GS_CONSOLIDATE_WHEN_EMPTY);
    assert_int_equal(p->consolidate_after, GS_SEC(30));
    assert_int_equal(p->limit_gpus, 32);

    p = pool(&c, "a10g-spot");
    assert_string_equal(p->reqs[0].values[0], "a10g");
    assert_int_equal(gs_pool_capacity_mask(p), GS_CAPMASK_OD | GS_CAPMASK_SPOT);
    assert_int_equal(p->reqs[2].op, GS_OP_NOT_IN);
    assert_int_equal(p->reqs[3].key, GS_KEY_ZONE);
    assert_true(gs_pool_allows(p, &CAT.types[gs_catalog_find(&CAT, "g5.xlarge")], GS_CAP_SPOT, "us-east-1a"));
    assert_false(gs_pool_allows(p, &CAT.types[gs_catalog_find(&CAT, "g5.xlarge")], GS_CAP_SPOT, "us-west-2a"));
    assert_false(gs_pool_allows(p, &CAT.types[gs_catalog_find(&CAT, "g5.48xlarge")], GS_CAP_SPOT, NULL));
    assert_string_equal(p->labels[0].key, "team");
    assert_int_equal(p->limit_usd_per_hour, 120500000);
    assert_int_equal(p->disruption_budget_pct, 10);
    assert_int_equal(p->disruption_budget_nodes, 2);

    p = pool(&c, "frac-l40s"); /* defaults */
    assert_int_equal(p->sharing, GS_SHARE_FRACTIONAL);
    assert_int_equal(p->weight, 0);
    assert_int_equal(p->consolidation, GS_CONSOLIDATE_WHEN_EMPTY_OR_UNDERUTILIZED);
    assert_int_equal(p->consolidate_after, 0);
    assert_int_equal(p->disruption_budget_pct, 10);
    assert_int_equal(p->disruption_budget_nodes, -1);
    assert_int_equal(p->expire_after, 0);
    assert_int_equal(p->limit_nodes, 0);
    assert_int_equal(p->limit_usd_per_hour, 0);
    assert_int_equal(p->ntaints, 0);
    gs_config_free(&c);
}

static void test_pool_variants(void **st) {
    (void)st;
    gs_config c;
    /* Karpenter v1 placement of requirements, Never, absolute-only budgets, gpu limit alias,
     * short GPU model names canonicalised, DoesNotExist */
    load_ok(&c, "kind: GPUPool\nmetadata: {name: p}\nspec:\n"
                "  template:\n    spec:\n      requirements:\n"
                "        - {key: gpuscale.dev/gpu-model, operator: In, values: [H200]}\n"
                "        - {key: topology.kubernetes.io/zone, operator: DoesNotExist}\n"
                "      expireAfter: Never\n"
                "  limits: {nvidia.com/gpu: 16}\n"
                "  disruption: {consolidateAfter: Never, budgets: [{nodes: \"3\"}]}\n");
    assert_int_equal(c.npools, 1);
    assert_string_equal(c.pools[0].reqs[0].values[0], "h200-141gb");
    assert_int_equal(c.pools[0].reqs[1].op, GS_OP_DOES_NOT_EXIST);
    assert_int_equal(c.pools[0].reqs[1].nvalues, 0);
    assert_int_equal(c.pools[0].expire_after, 0);
    assert_int_equal(c.pools[0].consolidate_after, GS_MS_NEVER);
    assert_int_equal(c.pools[0].disruption_budget_nodes, 3);
    assert_int_equal(c.pools[0].disruption_budget_pct, 100);
    assert_int_equal(c.pools[0].limit_gpus, 16);
    gs_config_free(&c);
    /* MIG profile spellings: the resource form ".me" is stored as "+me" */
    load_ok(&c, "kind: GPUPool\nmetadata: {name: p}\nspec:\n  requirements:\n"
                "    - {key: node.kubernetes.io/instance-type, operator: In, values: [p5.48xlarge]}\n"
                "  sharing: {mode: mig, mig: {profiles: [1g.10gb.me, 1g.20gb]}}\n"
                "  limits: {pricePerHour: \"$99.999999\"}\n");
    assert_string_equal(c.pools[0].mig_profiles[0], "1g.10gb+me");
    assert_int_equal(c.pools[0].limit_usd_per_hour, 99999999);
    gs_config_free(&c);
}

static void test_scalers(void **st) {
    (void)st;
    gs_config c;
    load_examples(&c);
    assert_int_equal(c.nscalers, 6);
    const gs_scaler *s = scaler(&c, "llm-chat");
    assert_string_equal(s->ns, "inference");
    assert_string_equal(s->project, "chat");
    assert_string_equal(s->pool, "mig-h100");
    assert_int_equal(s->target_kind, GS_TARGET_DEPLOYMENT);
    assert_string_equal(s->target_name, "llm-chat");
    assert_int_equal(s->polling_interval, 1000);
    assert_int_equal(s->cooldown_period, GS_SEC(300)); /* a bare integer is seconds (KEDA) */
    assert_int_equal(s->min_replicas, 1);
    assert_int_equal(s->max_replicas, 40);
    assert_int_equal(s->idle_replicas, -1);
    assert_int_equal(s->fallback_failures, 3);
    assert_int_equal(s->fallback_replicas, 4);
    assert_int_equal(s->stabilize_up, 0);
    assert_int_equal(s->stabilize_down, GS_SEC(120));
    assert_int_equal(s->pod.cpu, 4000);
    assert_int_equal(s->pod.mem, 32768);
    assert_int_equal(s->pod.gpu.form, GS_GPU_MIG);
    assert_string_equal(s->pod.gpu.mig_profile, "3g.40gb");
    assert_int_equal(s->pod.n_tolerations, 1);
    assert_int_equal(s->pod.tolerations[0].op, GS_TOL_EXISTS);
    assert_int_equal(s->pod.tolerations[0].effect, GS_TAINT_NO_SCHEDULE);
    assert_int_equal(s->pod.priority, 100);
    assert_int_equal(s->ntriggers, 1);
    const gs_trigger *t = &s->triggers[0];
    assert_int_equal(t->type, GS_TRIG_REDIS_LIST);
    assert_int_equal(t->metric_type, GS_METRIC_AVERAGE_VALUE);
    assert_string_equal(t->name, "chat-queue");
    assert_int_equal(t->target_milli, 8000);
    assert_int_equal(t->activation_milli, 0);
    assert_string_equal(gs_trigger_meta(t, "address"), "redis.queues.svc:6379");
    assert_string_equal(gs_trigger_meta(t, "listName"), "chat-requests");
    assert_string_equal(gs_trigger_meta(t, "passwordFromEnv"), "REDIS_PASSWORD");
    assert_string_equal(gs_trigger_meta(t, "databaseIndex"), "0");
    assert_string_equal(gs_trigger_meta(t, "enableTLS"), "false");
    assert_null(gs_trigger_meta(t, "password"));

    s = scaler(&c, "embedder"); /* defaults */
    assert_string_equal(s->project, "inference");
    assert_int_equal(s->target_kind, GS_TARGET_DEPLOYMENT);
    assert_int_equal(s->polling_interval, GS_SEC(1));
    assert_int_equal(s->cooldown_period, GS_SEC(300));
    assert_int_equal(s->stabilize_down, GS_SEC(300));
    assert_int_equal(s->fallback_failures, 0);
    assert_int_equal(s->pod.cpu, 500);
    assert_int_equal(s->pod.mem, 4096);
    assert_int_equal(s->pod.gpu.form, GS_GPU_SHARED);
    assert_int_equal(s->pod.gpu.count, 1);
    t = &s->triggers[0];
    assert_int_equal(t->type, GS_TRIG_REDIS_STREAM);
    assert_string_equal(gs_trigger_meta(t, "address"), "redis.queues.svc:6379");
    assert_string_equal(gs_trigger_meta(t, "scaleBy"), "pendingEntriesCount");
    assert_int_equal(t->target_milli, 20000);
    assert_int_equal(t->activation_milli, 1000);

    s = scaler(&c, "transcribe");
    assert_int_equal(s->target_kind, GS_TARGET_STATEFULSET);
    assert_int_equal(s->polling_interval, GS_SEC(5));
    assert_int_equal(s->pod.gpu.form, GS_GPU_WHOLE); /* from limits */
    assert_int_equal(s->pod.gpu.count, 1);
    assert_int_equal(s->pod.n_node_selector, 1);
    assert_string_equal(s->pod.node_selector[0].key, "team");
    t = &s->triggers[0];
    assert_int_equal(t->type, GS_TRIG_RABBITMQ);
    assert_string_equal(gs_trigger_meta(t, "protocol"), "http");
    assert_string_equal(gs_trigger_meta(t, "mode"), "QueueLength");
    assert_string_equal(gs_trigger_meta(t, "vhostName"), "/");
    assert_int_equal(t->target_milli, 10000);
    assert_int_equal(t->activation_milli, 2000);

    s = scaler(&c, "rerank");
    assert_int_equal(s->pod.gpu.form, GS_GPU_FRACTION);
    assert_int_equal(s->pod.gpu.milli, 250);
    t = &s->triggers[0];
    assert_int_equal(t->type, GS_TRIG_PROMETHEUS);
    assert_int_equal(t->target_milli, 12500);
    assert_int_equal(t->activation_milli, 500);
    assert_string_equal(gs_trigger_meta(t, "ignoreNullValues"), "true");
    assert_string_equal(gs_trigger_meta(t, "query"), "sum(rate(rerank_requests_total[1m]))");

    s = scaler(&c, "batch-render");
    assert_int_equal(s->target_kind, GS_TARGET_JOB);
    assert_string_equal(s->project, "media-batch");
    assert_int_equal(s->idle_replicas, 0);
    assert_int_equal(s->pod.gpu.form, GS_GPU_WHOLE);
    assert_int_equal(s->pod.gpu.count, 2);
    assert_int_equal(s->pod.mem, 128 * 1024);
    t = &s->triggers[0];
    assert_int_equal(t->type, GS_TRIG_SQS);
    assert_int_equal(t->target_milli, 2000);
    assert_string_equal(gs_trigger_meta(t, "authenticationRef"), "aws-irsa");
    assert_string_equal(gs_trigger_meta(t, "scaleOnInFlight"), "true");
    assert_string_equal(gs_trigger_meta(t, "scaleOnDelayed"), "false");
    assert_string_equal(gs_trigger_meta(t, "awsRegion"), "us-east-1");

    s = scaler(&c, "sim-chat");
    assert_int_equal(s->triggers[0].type, GS_TRIG_SIM);
    assert_string_equal(gs_trigger_meta(&s->triggers[0], "queueName"), "chat");
    assert_int_equal(s->triggers[0].target_milli, 4000);
    assert_int_equal(s->pod.gpu.form, GS_GPU_MIG);
    assert_string_equal(s->pod.gpu.mig_profile, "1g.10gb");
    gs_config_free(&c);
}

static void test_trigger_defaults(void **st) {
    (void)st;
    gs_config c;
    load_ok(&c, "kind: QueueScaler\nmetadata: {name: s}\nspec:\n"
                "  scaleTargetRef: {name: w}\n"
                "  pollingInterval: 250ms\n  cooldownPeriod: 1h30m\n"
                "  advanced: {horizontalPodAutoscalerConfig: {behavior: {scaleUp: {stabilizationWindowSeconds: 15}}}}\n"
                "  template: {resources: {requests: {cpu: 0.5, memory: 1G}}}\n"
                "  triggers:\n"
                "    - {type: redis, metricType: Value, metadata: {host: r, listName: l}}\n"
                "    - {type: redis-streams, metadata: {address: 'r:1', stream: s}}\n"
                "    - {type: rabbitmq, metadata: {host: 'amqps://mq:5671/vh', queueName: q}}\n"
                "    - {type: rabbitmq, metadata: {hostFromEnv: MQ, protocol: http, queueName: q, queueLength: '7'}}\n"
                "    - {type: aws-sqs-queue, metadata: {queueURLFromEnv: Q, awsRegion: eu-west-1}}\n"
                "    - {type: simulated, metadata: {queueName: q, activationValue: '0.5'}}\n"
                "    - {type: redis-streams, metadata: {address: 'r:1', stream: s, consumerGroup: g, lagCount: '3'}}\n");
    const gs_scaler *s = &c.scalers[0];
    assert_false(s->pod_from_target);
    assert_string_equal(s->ns, "default");
    assert_string_equal(s->project, "default");
    assert_int_equal(s->polling_interval, 250);
    assert_int_equal(s->cooldown_period, GS_MIN(90));
    assert_int_equal(s->stabilize_up, GS_SEC(15));
    assert_int_equal(s->stabilize_down, GS_SEC(300));
    assert_int_equal(s->min_replicas, 0);
    assert_int_equal(s->max_replicas, 100);
    assert_int_equal(s->pod.cpu, 500);
    assert_int_equal(s->pod.mem, 954); /* 10^9 bytes rounded up to MiB */
    assert_int_equal(s->pod.gpu.form, GS_GPU_NONE);
    assert_int_equal(s->ntriggers, 7);
    const gs_trigger *t = s->triggers;
    assert_int_equal(t[0].metric_type, GS_METRIC_VALUE);
    assert_string_equal(gs_trigger_meta(&t[0], "address"), "r:6379");
    assert_int_equal(t[0].target_milli, 5000);                 /* KEDA listLength default 5 */
    assert_string_equal(gs_trigger_meta(&t[1], "scaleBy"), "streamLength");
    assert_int_equal(t[1].target_milli, 5000);
    assert_string_equal(gs_trigger_meta(&t[2], "protocol"), "amqp");
    assert_string_equal(gs_trigger_meta(&t[2], "mode"), "QueueLength");
    assert_int_equal(t[2].target_milli, 20000);                /* KEDA default 20 */
    assert_int_equal(t[3].target_milli, 7000);
    assert_int_equal(t[4].target_milli, 5000);
    assert_string_equal(gs_trigger_meta(&t[4], "queueURLFromEnv"), "Q");
    assert_int_equal(t[5].target_milli, 1000);
    assert_int_equal(t[5].activation_milli, 500);
    assert_string_equal(gs_trigger_meta(&t[6], "scaleBy"), "lagCount");
    assert_int_equal(t[6].target_milli, 3000);
    gs_config_free(&c);
    /* what the queue sources read beyond KEDA's names: caFile, basic auth, ...File secrets;
     * the SQS region from the queue URL */
    load_ok(&c, "kind: QueueScaler\nmetadata: {name: s}\nspec:\n"
                "  scaleTargetRef: {name: w}\n"
                "  template: {resources: {requests: {cpu: 1}}}\n"
                "  triggers:\n"
                "    - {type: prometheus, metadata: {serverAddress: 'https://p:9090', query: q, threshold: '3', caFile: /ca.pem,"
                " username: u, passwordFile: /run/p}}\n"
                "    - {type: aws-sqs-queue, metadata: {queueURL: 'https://sqs.eu-west-1.amazonaws.com/1/q',"
                " awsAccessKeyIDFromEnv: K, awsSecretAccessKeyFile: /run/s}}\n"
                "    - {type: redis, metadata: {address: 'r:1', listName: l, passwordFile: /run/r}}\n");
    t = c.scalers[0].triggers;
    assert_string_equal(gs_trigger_meta(&t[0], "caFile"), "/ca.pem");
    assert_string_equal(gs_trigger_meta(&t[0], "passwordFile"), "/run/p");
    assert_string_equal(gs_trigger_meta(&t[1], "awsRegion"), "eu-west-1");
    assert_string_equal(gs_trigger_meta(&t[1], "awsSecretAccessKeyFile"), "/run/s");
    gs_config_free(&c);
}

static void test_scaler_without_template(void **st) {
    (void)st;
    gs_config c;
    load_ok(&c, "kind: QueueScaler\nmetadata: {name: s, namespace: ml}\nspec:\n"
                "  scaleTargetRef: {kind: Deployment, name: w}\n"
                "  triggers: [{type: redis, metadata: {address: 'r:6379', listName: l}}]\n");
    assert_true(c.scalers[0].pod_from_target);
    assert_int_equal(c.scalers[0].pod.gpu.form, GS_GPU_NONE);
    assert_int_equal(c.scalers[0].pod.cpu, 0);
    gs_config_free(&c);
}

static void test_budgets_envs(void **st) {
    (void)st;
    gs_config c;
    load_examples(&c);
    assert_int_equal(c.nbudgets, 3);
    const gs_budget *b = &c.budgets[gs_config_find_budget_for(&c, "chat")];
    assert_string_equal(b->name, "chat");
    assert_string_equal(b->timezone, "America/New_York");
    assert_int_equal(b->per_hour, GS_USD(250));
    assert_int_equal(b->per_day, GS_USD(4000));
    assert_int_equal(b->per_month, GS_USD(90000));
    assert_int_equal(b->enforce, GS_ENFORCE_HARD);
    assert_int_equal(b->on_exceeded, GS_ON_EXCEEDED_SCALE_TO_MIN);
    assert_int_equal(b->nalerts, 3);
    assert_int_equal(b->alert_pct[1], 80);
    assert_string_equal(b->webhook_url, "https://hooks.example.com/gpuscale/chat");
    assert_int_equal(b->webhook_retries, 5);
    b = &c.budgets[gs_config_find_budget_for(&c, "research")];
    assert_int_equal(b->per_day, 1200500000);
    assert_int_equal(b->per_hour, 0);
    assert_int_equal(b->enforce, GS_ENFORCE_SOFT);
    assert_int_equal(b->on_exceeded, GS_ON_EXCEEDED_ALERT);
    b = &c.budgets[gs_config_find_budget_for(&c, "media-batch")]; /* defaults */
    assert_string_equal(b->timezone, "UTC");
    assert_int_equal(b->enforce, GS_ENFORCE_HARD);
    assert_int_equal(b->on_exceeded, GS_ON_EXCEEDED_BLOCK);
    assert_int_equal(b->nalerts, 3);
    assert_int_equal(b->alert_pct[0], 50);
    assert_int_equal(b->alert_pct[2], 100);
    assert_string_equal(b->webhook_url, "");
    assert_int_equal(b->webhook_retries, 3);
    assert_int_equal(b->file, 2);

    assert_int_equal(c.nenvs, 2);
    const gs_environment *e = &c.envs[0];
    assert_string_equal(e->name, "pr-1234-preview");
    assert_string_equal(e->ns, "research");
    assert_string_equal(e->project, "research");
    assert_string_equal(e->pool, "ts-l4");
    assert_int_equal(e->ttl, GS_HOUR(8));
    assert_int_equal(e->delete_when, GS_DELETE_NEVER);
    assert_false(e->is_job);
    assert_int_equal(e->nworkloads, 2);
    assert_string_equal(e->workloads[0].name, "api");
    assert_int_equal(e->workloads[0].replicas, 2);
    assert_int_equal(e->workloads[0].pod.cpu, 500);
    assert_int_equal(e->workloads[1].replicas, 1);
    assert_int_equal(e->workloads[1].pod.gpu.form, GS_GPU_SHARED);
    assert_int_equal(e->workloads[1].run_for, 0);
    e = &c.envs[1];
    assert_true(e->is_job);
    assert_string_equal(e->project, "research"); /* defaults to the namespace */
    assert_int_equal(e->delete_when, GS_DELETE_SUCCEEDED);
    assert_int_equal(e->ttl, GS_HOUR(24));
    assert_int_equal(e->nworkloads, 1);
    assert_string_equal(e->workloads[0].name, "finetune-llama");
    assert_int_equal(e->workloads[0].run_for, GS_HOUR(6));
    assert_int_equal(e->workloads[0].pod.gpu.count, 8);
    assert_int_equal(e->workloads[0].pod.mem, 256 * 1024);
    gs_config_free(&c);
}

static void expect_err(const char *body, int line, int col, const char *needle) {
    gs_config c;
    memset(&c, 0x5a, sizeof c);
    gs_error e;
    int rc = load(&c, body, &e);
    char b[1024];
    gs_error_format(&e, b, sizeof b);
    if (rc == 0) fail_msg("expected an error containing '%s'", needle);
    if (!strstr(e.msg, needle)) fail_msg("got '%s', want '%s'", b, needle);
    assert_string_equal(e.file, "t.yaml");
    if ((line && e.line != line) || (col && e.col != col)) fail_msg("at %d:%d, want %d:%d: %s", e.line, e.col, line, col, b);
    /* all-or-nothing: nothing handed out */
    assert_null(c.pools);
    assert_null(c.scalers);
    assert_null(c.budgets);
    assert_null(c.envs);
    assert_int_equal(c.npools + c.nscalers + c.nbudgets + c.nenvs, 0);
}

static void test_errors(void **st) {
    (void)st;
    expect_err("kind: GPUPool\nmetadata: {name: p}\nspec:\n  requirements: [{key: karpenter.sh/capacity-type, operator: In, values: [spto]}]\n",
               5, 75, "capacity type must be on-demand or spot, got 'spto' (did you mean 'spot'?)");
    expect_err("kind: GPUPool\nmetadata: {name: p}\nspec:\n  requirements: [{key: gpuscale.dev/gpu-model, operator: Gt, values: [1]}]\n",
               5, 0, "must be one of In, NotIn, Exists, DoesNotExist, got 'Gt'");
    expect_err("kind: GPUPool\nmetadata: {name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}\nspec: {}\n",
               3, 18, "too long");
    expect_err("kind: GPUPool\nmetadata: {name: p}\nspec:\n  requirements: [{key: karpenter.k8s.aws/instance-gpu-count, operator: In, values: [\"17\"]}]\n",
               5, 0, "must be an integer in 0..16");
    expect_err("kind: QueueScaler\nmetadata: {name: s}\nspec:\n  scaleTargetRef: {name: w}\n"
               "  template: {resources: {requests: {nvidia.com/gpu: 1}, limits: {nvidia.com/gpu: 2}}}\n"
               "  triggers: [{type: simulated, metadata: {queueName: q}}]\n",
               6, 0, "GPU limit 'nvidia.com/gpu' differs from the request");
    expect_err("kind: QueueScaler\nmetadata: {name: s}\nspec:\n  scaleTargetRef: {name: w}\n"
               "  template: {resources: {requests: {nvidia.com/mig-9g.99gb: 1}}}\n"
               "  triggers: [{type: simulated, metadata: {queueName: q}}]\n",
               6, 37, "unknown MIG profile");
    expect_err("kind: QueueScaler\nmetadata: {name: s}\nspec:\n  scaleTargetRef: {name: w}\n"
               "  template: {resources: {requests: {cpu: 1}}}\n"
               "  triggers: [{type: aws-sqs-queue, metadata: {queueURL: q, awsRegion: r, awsSecretAccessKey: x}}]\n",
               7, 0, "awsSecretAccessKeyFromEnv");
    expect_err("kind: QueueScaler\nmetadata: {name: s}\nspec:\n  scaleTargetRef: {name: w}\n"
               "  template: {resources: {requests: {cpu: 1}}}\n"
               "  triggers: [{type: redis-streams, metadata: {address: 'a:1', stream: s, lagCount: '3'}}]\n",
               7, 0, "needs 'consumerGroup'");
    expect_err("kind: QueueScaler\nmetadata: {name: s}\nspec:\n  scaleTargetRef: {name: w}\n"
               "  template: {resources: {requests: {cpu: 1}}}\n"
               "  triggers: [{type: redis, metadata: {address: 'a:1', host: b, listName: l}}]\n",
               7, 0, "give only one of");
    expect_err("kind: QueueScaler\nmetadata: {name: s}\nspec:\n  scaleTargetRef: {name: w}\n  pollingInterval: 50ms\n"
               "  template: {resources: {requests: {cpu: 1}}}\n"
               "  triggers: [{type: simulated, metadata: {queueName: q}}]\n",
               6, 20, "must be between 100ms and 1h");
    expect_err("kind: QueueScaler\nmetadata: {name: s}\nspec:\n  scaleTargetRef: {name: w}\n  idleReplicaCount: 0\n"
               "  triggers: [{type: simulated, metadata: {queueName: q}}]\n",
               6, 21, "spec.idleReplicaCount (0) must be less than spec.minReplicaCount (0)");
    expect_err("kind: Budget\nmetadata: {name: b}\nspec: {project: p, timezone: ../../etc/passwd, limits: {perDay: 1}}\n",
               4, 0, "unknown time zone");
    expect_err("kind: Budget\nmetadata: {name: b}\nspec: {project: p, limits: {perDay: 1}, alerts: {thresholds: [80, 50]}}\n",
               4, 0, "thresholds must increase");
    expect_err("kind: Budget\nmetadata: {name: b}\nspec: {project: p, limits: {perDay: -1}}\n",
               4, 0, "expected an amount of US dollars");
    expect_err("kind: Environment\nmetadata: {name: e}\nspec: {ttl: 1h, pool: nope, workloads: [{name: a, template: {resources: {requests: {cpu: 1}}}}]}\n",
               4, 23, "unknown GPUPool 'nope' (no GPUPool is defined)");
    expect_err("kind: Environment\nmetadata: {name: e}\nspec: {ttl: 1h, workloads: [{name: a, template: {resources: {requests: {cpu: 1}}}}], job: {}}\n",
               4, 0, "either spec.workloads or spec.job");
    /* a problem in a later document discards the good earlier ones */
    char body[1024];
    snprintf(body, sizeof body, "%s---\n%skind: GPUPool\nmetadata: {name: x}\nspec: {wieght: 1}\n", L4POOL, H);
    expect_err(body, 11, 8, "unknown field 'spec.wieght' (did you mean 'weight'?)");
}

static void test_all_or_nothing_files(void **st) {
    (void)st;
    gs_config_src srcs[2] = {
        {"good.yaml", NULL, 0},
        {"bad.yaml", "apiVersion: gpuscale.dev/v1alpha1\nkind: GPUPool\nmetadata: {name: x}\n", 0},
    };
    char good[1024];
    snprintf(good, sizeof good, "%s%s", H, L4POOL);
    srcs[0].text = good;
    srcs[0].len = strlen(good);
    srcs[1].len = strlen(srcs[1].text);
    gs_config c;
    gs_error e;
    assert_int_equal(gs_config_load_sources(&c, srcs, 2, &CAT, &e), GS_EINVAL);
    assert_string_equal(e.file, "bad.yaml");
    assert_int_equal(e.line, 1);
    assert_non_null(strstr(e.msg, "missing required field 'spec'"));
    assert_null(c.pools);
    assert_int_equal(c.npools, 0);
    /* the good one alone loads */
    assert_int_equal(gs_config_load_sources(&c, srcs, 1, &CAT, &e), 0);
    assert_int_equal(c.npools, 1);
    assert_int_equal(c.pools[0].file, 0);
    gs_config_free(&c);
}

static void test_limits(void **st) {
    (void)st;
    gs_config c;
    gs_error e;
    /* over the size cap */
    size_t big = GS_CONFIG_MAX_BYTES + 1;
    char *buf = malloc(big);
    assert_non_null(buf);
    memset(buf, '#', big);
    assert_int_equal(gs_config_load_string(&c, buf, big, "big.yaml", &CAT, &e), GS_ETOOBIG);
    /* a wide but shallow billion-laughs without aliases is bounded by the node cap */
    size_t n = 0;
    n += (size_t)snprintf(buf + n, big - n, "x: [");
    for (int i = 0; i < 120000 && n + 8 < big; i++) n += (size_t)snprintf(buf + n, big - n, "1,");
    n += (size_t)snprintf(buf + n, big - n, "1]\n");
    assert_int_not_equal(gs_config_load_string(&c, buf, n, "wide.yaml", &CAT, &e), 0);
    assert_non_null(strstr(e.msg, "too many"));
    /* deep nesting */
    n = 0;
    for (int i = 0; i < 5000; i++) buf[n++] = '[';
    assert_int_equal(gs_config_load_string(&c, buf, n, "deep.yaml", &CAT, &e), GS_ETOOBIG);
    assert_non_null(strstr(e.msg, "nested too deeply"));
    /* nothing at all */
    assert_int_equal(gs_config_load_string(&c, NULL, 0, NULL, &CAT, &e), GS_EINVAL);
    assert_non_null(strstr(e.msg, "no configuration"));
    /* an alias */
    const char *al = "a: &x 1\nb: *x\n";
    assert_int_equal(gs_config_load_string(&c, al, strlen(al), NULL, &CAT, &e), GS_EPARSE);
    assert_string_equal(e.file, "<string>");
    /* NUL inside a string */
    const char *nul = "a: \"x\\0y\"\n";
    assert_int_equal(gs_config_load_string(&c, nul, strlen(nul), NULL, &CAT, &e), GS_EPARSE);
    /* invalid UTF-8 */
    const char *bad = "a: \xff\xfe\n";
    assert_int_equal(gs_config_load_string(&c, bad, strlen(bad), NULL, &CAT, &e), GS_EPARSE);
    free(buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pools),
        cmocka_unit_test(test_pool_variants),
        cmocka_unit_test(test_scalers),
        cmocka_unit_test(test_trigger_defaults),
        cmocka_unit_test(test_scaler_without_template),
        cmocka_unit_test(test_budgets_envs),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_all_or_nothing_files),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
