#!/bin/sh
# Runs a control-plane test inside its own network namespace (unshare --net) where this
# machine allows it (root, or unprivileged user namespaces), with only loopback up: etcd, the
# API server, Redis and gpuscale then cannot collide with anything else on the host, and
# nothing the test starts can reach out. Falls back to running the test directly, with a note,
# where unshare or ip is missing or not permitted.
if command -v unshare >/dev/null 2>&1 && command -v ip >/dev/null 2>&1 &&
   unshare --net sh -c 'ip link set lo up' >/dev/null 2>&1; then
    exec unshare --net sh -c 'ip link set lo up && exec "$@"' netns "$@"
fi
echo "netns.sh: unshare --net not available here; running $1 in the host network namespace" >&2
exec "$@"
