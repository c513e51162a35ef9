#!/usr/bin/env bash
# Make sure the services the tests need answer on loopback: PostgreSQL, Redis and NATS (JetStream).
# Starts what is installed but stopped; installs with apt-get what is missing. Idempotent.
set -euo pipefail

log() { printf 'services: %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {  # wait_for NAME PORT
  for _ in $(seq 1 60); do port_open "$2" && return 0; sleep 0.5; done
  log "$1 did not come up on port $2"; return 1
}

apt_install() {
  log "installing $*"
  if [ ! -f /tmp/.tenantry-apt-updated ]; then apt-get update -qq && touch /tmp/.tenantry-apt-updated; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
  port_open 5432 && return 0
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
  wait_for PostgreSQL 5432
}

ensure_redis() {
  port_open 6379 && return 0
  command -v redis-server >/dev/null || apt_install redis-server
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  wait_for Redis 6379
}

ensure_nats() {
  port_open 4222 && return 0
  command -v nats-server >/dev/null || apt_install nats-server
  local dir="${TMPDIR:-/tmp}/tenantry-nats"
  mkdir -p "$dir"
  log "starting NATS with JetStream in $dir"
  nohup nats-server -a 127.0.0.1 -p 4222 -js -sd "$dir" >"$dir/nats.log" 2>&1 &
  wait_for NATS 4222
}

ensure_postgres
ensure_redis
ensure_nats
