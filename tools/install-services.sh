#!/usr/bin/env bash
# Installs the local services the devstack needs, each only when missing:
#   redis-server (Debian package, needs root) and ferretdb 1.24.2 (built with Go).
# Used by .ci/run and by `npm start` / `npm test` on a fresh machine.
set -euo pipefail

FERRETDB_VERSION="v1.24.2"
GOBIN_DIR="$(command -v go >/dev/null 2>&1 && go env GOPATH || echo "$HOME/go")/bin"
export PATH="$GOBIN_DIR:$PATH"

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
if [ "${TM_INSTALL_COMPOSE:-0}" = "1" ]; then
  command -v docker-compose >/dev/null 2>&1 || need_apt+=(docker-compose)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "[install] apt-get install -y ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "[install] missing ${need_apt[*]}: run 'sudo apt-get install -y ${need_apt[*]}' (or set REDIS_URL)" >&2
    exit 1
  fi
fi

if ! command -v ferretdb >/dev/null 2>&1 && ! command -v mongod >/dev/null 2>&1 && [ -z "${MONGO_URL:-}" ]; then
  if ! command -v go >/dev/null 2>&1; then
    echo "[install] no MongoDB-compatible store: install Go, or mongod, or set MONGO_URL" >&2
    exit 1
  fi
  # `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2` builds, but the binary panics at start:
  # the module zip lacks build/version/version.txt (it is generated in FerretDB's own build). So build the
  # same module from a copy with that file written.
  echo "[install] building ferretdb ${FERRETDB_VERSION} with Go (about a minute)"
  export GOTOOLCHAIN=local
  src_dir="$(go mod download -json "github.com/FerretDB/FerretDB@${FERRETDB_VERSION}" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')"
  work="$(mktemp -d)"
  cp -r "$src_dir" "$work/ferretdb"
  chmod -R u+w "$work/ferretdb"
  echo "$FERRETDB_VERSION" > "$work/ferretdb/build/version/version.txt"
  mkdir -p "$GOBIN_DIR"
  (cd "$work/ferretdb" && go build -buildvcs=false -o "$GOBIN_DIR/ferretdb" ./cmd/ferretdb) || \
    (cd "$work/ferretdb" && go build -buildvcs=false -ldflags=-checklinkname=0 -o "$GOBIN_DIR/ferretdb" ./cmd/ferretdb)
  rm -rf "$work"
  "$GOBIN_DIR/ferretdb" --version | head -1
fi
