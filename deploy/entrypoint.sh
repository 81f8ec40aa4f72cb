#!/bin/sh
# Container entrypoint: optionally migrate, then run one inbound command (serve, worker, run …).
# Migrations run from one place only (INBOUND_MIGRATE_ON_START=1 on a single process or a
# one-off task), so several replicas starting at once don't race each other.
#
# `inbound-entrypoint healthcheck` is the image's HEALTHCHECK, for every process type: it asks
# /healthz (liveness: the process runs; RabbitMQ or the database being away is not a reason to
# restart it) on INBOUND_PORT, where serve, run and review listen, then on INBOUND_METRICS_PORT,
# where a worker listens (the image sets 9090). Healthy when either answers 200.
set -eu
if [ "${1:-}" = "healthcheck" ]; then
  exec python3 -c '
import os, sys, urllib.request
ports = [os.environ.get("INBOUND_PORT") or "8080", os.environ.get("INBOUND_METRICS_PORT") or ""]
for port in filter(None, ports):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            if answer.status == 200:
                sys.exit(0)
    except OSError:
        continue
sys.exit(1)
'
fi
if [ "${INBOUND_MIGRATE_ON_START:-0}" = "1" ]; then
  inbound migrate
fi
if [ "$#" -eq 0 ]; then
  set -- serve
fi
exec inbound "$@"
