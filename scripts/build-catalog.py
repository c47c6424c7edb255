#!/usr/bin/env python3
"""Builds data/instance-types.csv from ../shared/data/aws_ec2/ (see data/README.md).

Joins gpu_instance_types.csv (hardware facts) with gpu_instance_allocatable.csv (what the
kubelet offers after overhead). Memory is converted to MiB exactly; prices stay as written
(6 decimals, USD/hour); a missing price stays empty (the type is then not launchable
on-demand and is skipped by the planner)."""
import csv, sys, os
src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '../../shared/data/aws_ec2')
out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), '../data/instance-types.csv')
alloc = {r['instance_type']: r for r in csv.DictReader(open(os.path.join(src, 'gpu_instance_allocatable.csv')))}
rows = []
for r in csv.DictReader(open(os.path.join(src, 'gpu_instance_types.csv'))):
    a = alloc[r['instance_type']]
    rows.append([r['instance_type'], r['family'], r['vcpu'], str(int(round(float(r['memory_gib']) * 1024))),
                 r['gpu_count'], r['gpu_model'], str(int(round(float(r['gpu_memory_gib']) * 1024))),
                 r['on_demand_usd_per_hour_us_east_1'], a['allocatable_cpu_milli'],
                 a['allocatable_memory_mib'], a['max_pods']])
with open(out, 'w', newline='') as f:
    w = csv.writer(f, lineterminator='\n')
    w.writerow(['instance_type', 'family', 'vcpu', 'memory_mib', 'gpu_count', 'gpu_model',
                'gpu_memory_mib', 'on_demand_usd_per_hour', 'allocatable_cpu_milli',
                'allocatable_memory_mib', 'max_pods'])
    w.writerows(rows)
