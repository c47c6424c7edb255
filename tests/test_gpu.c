/* The built-in GPU/MIG tables against ground truth: tests/data/h100-80gb-hbm3.txt is the
 * output of `nvidia-smi mig -lgip` and `nvidia-smi mig -lgipp` read off a real H100 80GB HBM3
 * (driver 580.159.04) on 2026-11-25 (see tests/data/README.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/catalog.h"
#include "model/cluster.h"
#include "model/gpu.h"
#include "testutil.h"

typedef struct {
    char name[32];
    int id, total, sms;
    double gib;
    unsigned starts;
    int size;
    int have_place;
} real_profile;

static int parse_real(real_profile *out, int max) {
    size_t len;
    char *text = gs_test_read("h100-80gb-hbm3.txt", &len);
    int n = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        real_profile p;
        memset(&p, 0, sizeof p);
        int freec;
        /* |   0  MIG 1g.10gb         19     7/7        9.75       No     16     1     0   | */
        if (sscanf(line, "| %*d MIG %31s %d %d/%d %lf No %d", p.name, &p.id, &freec, &p.total,
                   &p.gib, &p.sms) == 6) {
            assert_true(n < max);
            out[n++] = p;
            continue;
        }
        /* GPU  0 Profile ID 19 Placements: {0,1,2,3,4,5,6}:1  (or "Placement :") */
        int id;
        char *brace = strchr(line, '{');
        if (sscanf(line, "GPU %*d Profile ID %d", &id) == 1 && brace) {
            real_profile *rp = NULL;
            for (int i = 0; i < n; i++)
                if (out[i].id == id) rp = &out[i];
            assert_non_null(rp);
            unsigned mask = 0;
            char *q = brace + 1;
            while (*q && *q != '}') {
                long s = strtol(q, &q, 10);
                mask |= 1u << s;
                if (*q == ',') q++;
            }
            assert_true(*q == '}');
            assert_true(q[1] == ':');
            rp->size = atoi(q + 2);
            rp->starts = mask;
            rp->have_place = 1;
        }
    }
    free(text);
    return n;
}

static void test_h100_matches_hardware(void **st) {
    (void)st;
    real_profile real[16];
    int n = parse_real(real, 16);
    assert_int_equal(n, 7);
    const gs_gpu_model *m = gs_gpu_get(gs_gpu_find("h100-80gb"));
    assert_non_null(m);
    assert_int_equal(m->nprofiles, 7);
    assert_int_equal(m->mem_slices, 8);
    assert_int_equal(m->compute_slices, 7);
    for (int i = 0; i < n; i++) {
        int pi = gs_mig_profile_by_id(m, real[i].id);
        assert_true(pi >= 0);
        const gs_mig_profile *p = &m->profiles[pi];
        assert_string_equal(p->name, real[i].name);
        assert_int_equal(p->max_count, real[i].total);
        assert_int_equal(p->sms, real[i].sms);
        assert_true(real[i].have_place);
        assert_int_equal(p->starts, real[i].starts);
        assert_int_equal(p->size, real[i].size);
        /* nvidia-smi prints GiB with 2 decimals */
        double gib = p->mem_mib / 1024.0;
        assert_true(gib - real[i].gib < 0.01 && real[i].gib - gib < 0.01);
        /* the "Ng" of the name is the compute slice count */
        assert_int_equal(p->compute, real[i].name[0] - '0');
        assert_int_equal(p->media_ext, strstr(real[i].name, "+me") != NULL);
    }
}

/* Geometry shared by the A100/H100/H200 family (REFERENCES.md); A30 separately. */
static void test_family_geometry(void **st) {
    (void)st;
    const char *fam[] = {"a100-40gb", "a100-80gb", "h100-80gb", "h100-94gb-nvl", "h200-141gb"};
    const gs_gpu_model *ref = gs_gpu_get(gs_gpu_find("h100-80gb"));
    for (size_t f = 0; f < sizeof fam / sizeof fam[0]; f++) {
        const gs_gpu_model *m = gs_gpu_get(gs_gpu_find(fam[f]));
        assert_non_null(m);
        assert_int_equal(m->nprofiles, 7);
        for (int i = 0; i < 7; i++) {
            assert_int_equal(m->profiles[i].id, ref->profiles[i].id);
            assert_int_equal(m->profiles[i].starts, ref->profiles[i].starts);
            assert_int_equal(m->profiles[i].size, ref->profiles[i].size);
            assert_int_equal(m->profiles[i].compute, ref->profiles[i].compute);
            assert_int_equal(m->profiles[i].max_count, ref->profiles[i].max_count);
        }
    }
    const gs_gpu_model *a100 = gs_gpu_get(gs_gpu_find("a100-40gb"));
    assert_string_equal(a100->profiles[0].name, "1g.5gb");
    assert_string_equal(a100->profiles[4].name, "3g.20gb");
    const gs_gpu_model *nvl = gs_gpu_get(gs_gpu_find("h100-94gb-nvl"));
    assert_string_equal(nvl->profiles[6].name, "7g.94gb");
    const gs_gpu_model *h200 = gs_gpu_get(gs_gpu_find("h200-141gb"));
    assert_string_equal(h200->profiles[2].name, "1g.35gb");
    const gs_gpu_model *a30 = gs_gpu_get(gs_gpu_find("a30"));
    assert_non_null(a30);
    assert_int_equal(a30->mem_slices, 4);
    assert_int_equal(a30->compute_slices, 4);
    int p = gs_mig_profile_find(a30, "2g.12gb+me");
    assert_true(p >= 0);
    assert_int_equal(a30->profiles[p].id, 6);
    assert_int_equal(a30->profiles[p].starts, 0x5);
    assert_int_equal(gs_mig_profile_find(a30, "1g.6gb.me"), gs_mig_profile_find(a30, "1g.6gb+me"));
    const char *nomig[] = {"t4", "a10g", "l4", "l40s", "v100"};
    for (size_t i = 0; i < 5; i++) {
        const gs_gpu_model *m = gs_gpu_get(gs_gpu_find(nomig[i]));
        assert_non_null(m);
        assert_false(gs_gpu_has_mig(m));
    }
    assert_int_equal(gs_gpu_find("h100"), -1); /* ambiguous */
    assert_int_equal(gs_gpu_find("NVIDIA-H100-80GB-HBM3"), gs_gpu_find("h100-80gb"));
    char buf[64];
    const gs_gpu_model *h = gs_gpu_get(gs_gpu_find("h100-80gb"));
    assert_string_equal(gs_mig_resource_name(&h->profiles[1], buf, sizeof buf), "nvidia.com/mig-1g.10gb.me");
}

static void test_catalog(void **st) {
    (void)st;
    gs_catalog c;
    gs_test_catalog(&c);
    assert_int_equal(c.n, 42);
    int i = gs_catalog_find(&c, "p5.48xlarge");
    assert_true(i >= 0);
    assert_int_equal(c.types[i].gpus, 8);
    assert_string_equal(gs_gpu_get(c.types[i].gpu_model)->name, "h100-80gb");
    assert_int_equal(c.types[i].od_price, 55040000);
    assert_int_equal(c.types[i].spot_discount_pct, 55);
    assert_int_equal(gs_itype_price(&c.types[i], GS_CAP_SPOT), 55040000LL * 45 / 100);
    i = gs_catalog_find(&c, "p4d.24xlarge");
    assert_string_equal(gs_gpu_get(c.types[i].gpu_model)->name, "a100-40gb");
    i = gs_catalog_find(&c, "p4de.24xlarge");
    assert_string_equal(gs_gpu_get(c.types[i].gpu_model)->name, "a100-80gb");
    i = gs_catalog_find(&c, "p5e.48xlarge");
    assert_int_equal(c.types[i].od_price, 0); /* no published on-demand price */
    i = gs_catalog_find(&c, "g4dn.xlarge");
    assert_int_equal(c.types[i].alloc_cpu, 3920);
    assert_int_equal(c.types[i].alloc_mem, 14481);
    assert_int_equal(gs_catalog_find(&c, "nope.large"), -1);
    gs_catalog_free(&c);
}

static void expect_catalog_error(const char *csv, const char *msg) {
    gs_catalog c;
    gs_catalog_init(&c);
    gs_error e;
    assert_int_not_equal(gs_catalog_parse_csv(&c, csv, strlen(csv), "x.csv", &e), 0);
    char buf[1024];
    gs_error_format(&e, buf, sizeof buf);
    if (strcmp(buf, msg) != 0) fail_msg("got '%s', want '%s'", buf, msg);
    assert_int_equal(c.n, 0);
    gs_catalog_free(&c);
}

#define HDR "instance_type,family,vcpu,memory_mib,gpu_count,gpu_model,gpu_memory_mib,on_demand_usd_per_hour,allocatable_cpu_milli,allocatable_memory_mib,max_pods\n"

static void test_catalog_bad_input(void **st) {
    (void)st;
    expect_catalog_error("", "x.csv:1:1: empty catalog");
    expect_catalog_error("a,b\n", "x.csv:1:1: header must have 11 columns");
    expect_catalog_error(HDR "g5.xlarge,g5,4,16384,1,a10g,22888,1.006,3920,14481\n",
                         "x.csv:2:1: expected 11 fields, found 10");
    expect_catalog_error(HDR "g5.xlarge,g5,four,16384,1,a10g,22888,1.006,3920,14481,29\n",
                         "x.csv:2:14: vcpu: integer expected");
    expect_catalog_error(HDR "g5.xlarge,g5,4,16384,1,z900,22888,1.006,3920,14481,29\n",
                         "x.csv:2:24: unknown GPU model 'z900' with 22888 MiB");
    expect_catalog_error(HDR "g5.xlarge,g5,4,16384,1,a10g,22888,1.0x,3920,14481,29\n",
                         "x.csv:2:35: on_demand_usd_per_hour: expected an amount in USD such as 120.50");
    expect_catalog_error(HDR "g5.xlarge,g5,4,16384,1,a10g,22888,1.0,3920,14481,29\n"
                             "g5.xlarge,g5,4,16384,1,a10g,22888,1.0,3920,14481,29\n",
                         "x.csv:3:1: duplicate instance type g5.xlarge");
    expect_catalog_error(HDR "g5.xlarge,g5,4,16384,1,a10g,22888,1.0,9000,14481,29\n",
                         "x.csv:2:39: allocatable exceeds capacity");
    /* CRLF and no final newline are fine */
    const char *ok = "instance_type,family,vcpu,memory_mib,gpu_count,gpu_model,gpu_memory_mib,on_demand_usd_per_hour,allocatable_cpu_milli,allocatable_memory_mib,max_pods\r\n"
                     "g5.xlarge,g5,4,16384,1,a10g,22888,1.006000,3920,14481,29";
    gs_catalog c;
    gs_catalog_init(&c);
    gs_error e;
    assert_int_equal(gs_catalog_parse_csv(&c, ok, strlen(ok), "ok.csv", &e), 0);
    assert_int_equal(c.n, 1);
    const char *disc = "family,spot_discount_percent\ng6,50\n";
    assert_int_equal(gs_catalog_parse_discounts(&c, disc, strlen(disc), "d.csv", &e), GS_ENOENT);
    assert_string_equal(e.msg, "unknown instance family 'g6'");
    const char *disc2 = "family,spot_discount_percent\ng5,99\n";
    assert_int_equal(gs_catalog_parse_discounts(&c, disc2, strlen(disc2), "d.csv", &e), GS_EPARSE);
    assert_int_equal(c.types[0].spot_discount_pct, 0); /* nothing applied half-way */
    gs_catalog_free(&c);
}

static void test_gpu_requests(void **st) {
    (void)st;
    gs_gpu_req r;
    const char *why;
    assert_int_equal(gs_gpu_req_from_resource("nvidia.com/mig-1g.10gb.me", 1, &r, &why), 0);
    assert_int_equal(r.form, GS_GPU_MIG);
    assert_string_equal(r.mig_profile, "1g.10gb+me");
    assert_int_equal(gs_gpu_req_from_resource("nvidia.com/gpu", 8, &r, &why), 0);
    assert_int_equal(r.form, GS_GPU_WHOLE);
    assert_int_equal(gs_gpu_req_from_resource("nvidia.com/gpu", 0, &r, &why), GS_EPARSE);
    assert_int_equal(gs_gpu_req_from_resource("nvidia.com/gpu.shared", 2, &r, &why), 0);
    assert_int_equal(r.form, GS_GPU_SHARED);
    assert_int_equal(gs_gpu_req_from_resource("gpuscale.dev/gpu-milli", 250, &r, &why), 0);
    assert_int_equal(r.milli, 250);
    assert_int_equal(gs_gpu_req_from_resource("gpuscale.dev/gpu-milli", 1000, &r, &why), GS_EPARSE);
    assert_int_equal(gs_gpu_req_from_resource("nvidia.com/mig-3g.40gb", 2, &r, &why), GS_EPARSE);
    assert_int_equal(gs_gpu_req_from_resource("cpu", 2, &r, &why), GS_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h100_matches_hardware), cmocka_unit_test(test_family_geometry),
        cmocka_unit_test(test_catalog), cmocka_unit_test(test_catalog_bad_input),
        cmocka_unit_test(test_gpu_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
