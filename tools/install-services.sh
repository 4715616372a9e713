#!/usr/bin/env bash
# Installs the local services the devstack needs, each only when missing:
#   redis-server, and Java 17+ with Maven for the embedded MongoDB-wire store (mongo-java-server,
#   built once from Maven Central by tools/src/devstack.ts) unless MONGO_URL is set or mongod is on PATH.
# Debian packages, installed with apt-get when root. Used by .ci/run and by `npm start` / `npm test`.
set -euo pipefail

need_apt=()
command -v redis-server >/dev/null 2>&1 || [ -n "${REDIS_URL:-}" ] || need_apt+=(redis-server)
if [ -z "${MONGO_URL:-}" ] && ! command -v mongod >/dev/null 2>&1; then
  command -v javac >/dev/null 2>&1 || need_apt+=(default-jdk-headless)
  command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
fi
if [ "${TM_INSTALL_COMPOSE:-0}" = "1" ]; then
  command -v docker-compose >/dev/null 2>&1 || need_apt+=(docker-compose)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "[install] apt-get install -y ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "[install] missing ${need_apt[*]}: run 'sudo apt-get install -y ${need_apt[*]}' (or set REDIS_URL / MONGO_URL)" >&2
    exit 1
  fi
fi
