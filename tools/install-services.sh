#!/usr/bin/env bash
# Installs the local services the devstack and the tests need, each only when missing:
#   redis-server, and Java 17+ with Maven for the embedded MongoDB-wire store (mongo-java-server,
#   built once from Maven Central by tools/src/devstack.ts) unless MONGO_URL is set or mongod is on PATH;
#   for the tests (unless TM_INSTALL_TEST_SERVICES=0): clamd (Debian's clamav-daemon; no freshclam: the
#   tests write their own signature database, see tools/src/testing/clamd.ts) and moto's S3-compatible
#   server (PyPI `moto[server]`, in a virtualenv at .devstack/venv unless moto_server already works),
#   openssl (the push test's TLS certificate), and Debian's chromium (the live board's browser test drives
#   it headless through playwright-core; playwright's own browser download is never used), promtool
#   (built once from the Prometheus Go module by tools/promtool.sh; the monitoring test checks the alert
#   rules, the scrape config and the dashboards' queries with it), and for the
#   Kubernetes manifests' test (tools/test/k8s.test.ts): kustomize, built from its Go module into
#   .devstack/bin (needs Go), and PyPI `kubernetes-validate` (ships the Kubernetes schemas) in .devstack/venv.
# Debian packages, installed with apt-get when root. Used by .ci/run and by `npm start` / `npm test`.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.devstack/venv"
moto_spec='moto[server]==5.2.5'
kustomize_module='sigs.k8s.io/kustomize/kustomize/v5@v5.7.1'
kubernetes_validate_spec='kubernetes-validate==1.37.0'

need_apt=()
command -v redis-server >/dev/null 2>&1 || [ -n "${REDIS_URL:-}" ] || need_apt+=(redis-server)
if [ -z "${MONGO_URL:-}" ] && ! command -v mongod >/dev/null 2>&1; then
  command -v javac >/dev/null 2>&1 || need_apt+=(default-jdk-headless)
  command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
fi
if [ "${TM_INSTALL_COMPOSE:-0}" = "1" ]; then
  command -v docker-compose >/dev/null 2>&1 || need_apt+=(docker-compose)
fi
need_moto=0
need_kustomize=0
need_kubernetes_validate=0
if [ "${TM_INSTALL_TEST_SERVICES:-1}" = "1" ]; then
  command -v clamd >/dev/null 2>&1 || [ -x /usr/sbin/clamd ] || need_apt+=(clamav-daemon)
  # the notifications push test serves its Web Push endpoint over TLS with a certificate it makes
  command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
  # the live board's browser test (tools/live-board/test) runs Debian's build, found at /usr/bin/chromium
  command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need_apt+=(chromium)
  if [ ! -x "$venv/bin/moto_server" ] && ! moto_server --help >/dev/null 2>&1; then
    need_moto=1
    command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
    # Debian's python3 makes virtualenvs only with python3-venv (ensurepip)
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
  fi
  [ -x "$root/.devstack/bin/kustomize" ] || need_kustomize=1
  [ -x "$venv/bin/kubernetes-validate" ] || need_kubernetes_validate=1
  if [ "$need_kustomize" = "1" ]; then command -v go >/dev/null 2>&1 || need_apt+=(golang-go); fi
  if [ "$need_kubernetes_validate" = "1" ]; then
    command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
  fi
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
if [ "$need_moto" = "1" ]; then
  echo "[install] pip install '$moto_spec' into .devstack/venv"
  [ -x "$venv/bin/pip" ] || { rm -rf "$venv" && python3 -m venv "$venv"; }
  "$venv/bin/pip" install -q --disable-pip-version-check --no-input "$moto_spec"
fi
if [ "$need_kubernetes_validate" = "1" ]; then
  echo "[install] pip install '$kubernetes_validate_spec' into .devstack/venv"
  [ -x "$venv/bin/pip" ] || { rm -rf "$venv" && python3 -m venv "$venv"; }
  "$venv/bin/pip" install -q --disable-pip-version-check --no-input "$kubernetes_validate_spec"
fi
if [ "$need_kustomize" = "1" ]; then
  # from the Go module proxy; the module and build caches stay in Go's own (per user) directories
  echo "[install] go install $kustomize_module into .devstack/bin (a few minutes the first time)"
  mkdir -p "$root/.devstack/bin"
  GOBIN="$root/.devstack/bin" GOFLAGS=-buildvcs=false go install "$kustomize_module"
fi
if [ "${TM_INSTALL_TEST_SERVICES:-1}" = "1" ]; then
  bash "$root/tools/promtool.sh" >/dev/null
fi
