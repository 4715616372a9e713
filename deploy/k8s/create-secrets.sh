#!/usr/bin/env bash
# Creates the Secrets the manifests refer to, in namespace $1 (tm-dev, tm, …), with fresh random keys.
# Nothing secret lives in the repository; run this once per namespace, before the first apply.
#   tm-secrets  INTERNAL_SECRET (HMAC of the gateway-signed context, every service), ENCRYPTION_KEYS
#               (secrets at rest: MFA secrets, signing keys; users and notifications), and, when set
#               in the environment: METRICS_TOKEN (then /metrics also wants it as a bearer token;
#               the NetworkPolicy already limits the metrics port to Prometheus), S3_ACCESS_KEY_ID,
#               S3_SECRET_ACCESS_KEY (files, analytics; or leave them out and use the pod's cloud
#               identity), SMTP_URL, VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY (notifications)
#   tm-admin    ADMIN_EMAIL, ADMIN_PASSWORD (users: the first administrator), when both are set
#   tm-stores   MONGO_URL, REDIS_URL, when both are set (only with components/external-stores)
# An existing tm-secrets is never replaced: a new ENCRYPTION_KEYS would make sealed data unreadable
# (rotate keys as README: Authentication says). Needs kubectl (with access to the cluster) and openssl.
set -euo pipefail
umask 077

ns="${1:?usage: create-secrets.sh <namespace>   (env: METRICS_TOKEN, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, SMTP_URL, VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY, ADMIN_EMAIL, ADMIN_PASSWORD, MONGO_URL, REDIS_URL)}"

kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns"

if kubectl -n "$ns" get secret tm-secrets >/dev/null 2>&1; then
  echo "tm-secrets exists in $ns: left as it is"
else
  # values go through a private temporary file, never the command line (visible in the process list)
  env_file="$(mktemp)"
  trap 'rm -f "$env_file"' EXIT
  {
    echo "INTERNAL_SECRET=$(openssl rand -hex 32)"
    echo "ENCRYPTION_KEYS=k1:$(openssl rand -base64 32)"
    for key in METRICS_TOKEN S3_ACCESS_KEY_ID S3_SECRET_ACCESS_KEY SMTP_URL VAPID_PUBLIC_KEY VAPID_PRIVATE_KEY; do
      if [ -n "${!key:-}" ]; then echo "$key=${!key}"; fi
    done
  } >"$env_file"
  kubectl -n "$ns" create secret generic tm-secrets --from-env-file="$env_file" >/dev/null
  rm -f "$env_file"
  echo "tm-secrets created in $ns"
fi

# tm-admin / tm-stores from the environment (applied: a re-run updates them)
apply_from_env() {
  local name="$1" f
  shift
  f="$(mktemp)"
  for key in "$@"; do echo "$key=${!key}" >>"$f"; done
  kubectl -n "$ns" create secret generic "$name" --from-env-file="$f" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  rm -f "$f"
  echo "$name set in $ns"
}
if [ -n "${ADMIN_EMAIL:-}" ] && [ -n "${ADMIN_PASSWORD:-}" ]; then apply_from_env tm-admin ADMIN_EMAIL ADMIN_PASSWORD; fi
if [ -n "${MONGO_URL:-}" ] && [ -n "${REDIS_URL:-}" ]; then apply_from_env tm-stores MONGO_URL REDIS_URL; fi
