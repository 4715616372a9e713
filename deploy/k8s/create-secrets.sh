#!/usr/bin/env bash
# Creates the Secrets the manifests refer to, in namespace $1 (tm-dev, tm, …), with fresh random keys.
# Nothing secret lives in the repository; run this once per namespace, before the first apply.
#   tm-secrets  INTERNAL_SECRET (HMAC of the gateway-signed context, every service), ENCRYPTION_KEYS
#               (secrets at rest: MFA secrets, signing keys; users and notifications), METRICS_TOKEN
#               (bearer token for /metrics), and, when set in the environment: S3_ACCESS_KEY_ID,
#               S3_SECRET_ACCESS_KEY (files, analytics; or leave them out and use the pod's cloud
#               identity), SMTP_URL, VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY (notifications)
#   tm-admin    ADMIN_EMAIL, ADMIN_PASSWORD (users: the first administrator), when both are set
#   tm-stores   MONGO_URL, REDIS_URL, when both are set (only with components/external-stores)
# An existing tm-secrets is never replaced: a new ENCRYPTION_KEYS would make sealed data unreadable
# (rotate keys as README: Authentication says). Needs kubectl (with access to the cluster) and openssl.
set -euo pipefail

ns="${1:?usage: create-secrets.sh <namespace>   (env: S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, SMTP_URL, VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY, ADMIN_EMAIL, ADMIN_PASSWORD, MONGO_URL, REDIS_URL)}"

kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns"

if kubectl -n "$ns" get secret tm-secrets >/dev/null 2>&1; then
  echo "tm-secrets exists in $ns: left as it is"
else
  args=(
    --from-literal=INTERNAL_SECRET="$(openssl rand -hex 32)"
    --from-literal=ENCRYPTION_KEYS="k1:$(openssl rand -base64 32)"
    --from-literal=METRICS_TOKEN="$(openssl rand -hex 24)"
  )
  for key in S3_ACCESS_KEY_ID S3_SECRET_ACCESS_KEY SMTP_URL VAPID_PUBLIC_KEY VAPID_PRIVATE_KEY; do
    if [ -n "${!key:-}" ]; then args+=(--from-literal="$key=${!key}"); fi
  done
  kubectl -n "$ns" create secret generic tm-secrets "${args[@]}" >/dev/null
  echo "tm-secrets created in $ns"
fi

if [ -n "${ADMIN_EMAIL:-}" ] && [ -n "${ADMIN_PASSWORD:-}" ]; then
  kubectl -n "$ns" create secret generic tm-admin \
    --from-literal=ADMIN_EMAIL="$ADMIN_EMAIL" --from-literal=ADMIN_PASSWORD="$ADMIN_PASSWORD" \
    --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  echo "tm-admin set in $ns"
fi

if [ -n "${MONGO_URL:-}" ] && [ -n "${REDIS_URL:-}" ]; then
  kubectl -n "$ns" create secret generic tm-stores \
    --from-literal=MONGO_URL="$MONGO_URL" --from-literal=REDIS_URL="$REDIS_URL" \
    --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  echo "tm-stores set in $ns"
fi
