#!/usr/bin/env bash
# Prints the path of promtool (Prometheus's rule and config checker), building it first when missing:
# `go install` of the Prometheus Go module at the version of the Prometheus image docker-compose's
# monitoring profile runs, into .devstack/promtool/<version>/. Built once; a few minutes of compiling
# on a fresh machine (Go's module and build caches make later builds quick). `remove_all_sd` leaves
# out the cloud service discoveries our static scrape config does not use (smaller, faster build).
# Needs Go (on PATH or /usr/local/go/bin; else Debian's golang-go is installed when root).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
version='v0.316.0' # Prometheus 3.16.0 (its Go module is tagged v0.<minor * 100 + ...>)
dir="$root/.devstack/promtool/$version"
bin="$dir/promtool"

if [ ! -x "$bin" ]; then
  if ! command -v go >/dev/null 2>&1; then
    if [ -x /usr/local/go/bin/go ]; then
      export PATH="/usr/local/go/bin:$PATH"
    elif [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
      echo "[install] apt-get install -y golang-go (to build promtool)" >&2
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null
    else
      echo "[install] promtool needs Go to build: install it (e.g. 'sudo apt-get install -y golang-go')" >&2
      exit 1
    fi
  fi
  echo "[install] building promtool $version into .devstack/promtool (once)" >&2
  mkdir -p "$dir"
  # GOTOOLCHAIN=auto: an older local Go fetches the toolchain the module asks for through the module proxy
  GOBIN="$dir" GOFLAGS="${GOFLAGS:-} -buildvcs=false" GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" \
    go install -trimpath -tags remove_all_sd "github.com/prometheus/prometheus/cmd/promtool@$version" >&2
fi
echo "$bin"
