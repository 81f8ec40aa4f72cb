#!/bin/sh
# Container entrypoint: optionally migrate, then run one inbound command (serve, worker, run …).
# Migrations run from one place only (INBOUND_MIGRATE_ON_START=1 on a single process or a
# one-off task), so several replicas starting at once don't race each other.
set -eu
if [ "${INBOUND_MIGRATE_ON_START:-0}" = "1" ]; then
  inbound migrate
fi
if [ "$#" -eq 0 ]; then
  set -- serve
fi
exec inbound "$@"
