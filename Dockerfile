# syntax=docker/dockerfile:1
# One image for every service of the stack; the build arg SERVICE picks which one it runs:
#   docker build --build-arg SERVICE=users -t tm-users .
#   docker build --build-arg SERVICE=gateway -t tm-gateway .
# docker-compose.yml builds one image per service from this file.

# ---- build: install everything, compile every workspace, then drop dev dependencies ----
FROM node:20-bookworm-slim AS build
WORKDIR /app

# Manifests first, so the `npm ci` layer is reused while only sources change.
# A new workspace (subgraphs/projects, ...) adds its package.json here and its dist below.
COPY package.json package-lock.json ./
COPY subgraphs/kit/package.json subgraphs/kit/
COPY subgraphs/users/package.json subgraphs/users/
COPY subgraphs/projects/package.json subgraphs/projects/
COPY subgraphs/tasks/package.json subgraphs/tasks/
COPY subgraphs/files/package.json subgraphs/files/
COPY subgraphs/notifications/package.json subgraphs/notifications/
COPY subgraphs/analytics/package.json subgraphs/analytics/
COPY gateway/package.json gateway/
COPY tools/package.json tools/
COPY tools/live-board/package.json tools/live-board/
RUN npm ci --no-audit --no-fund

COPY tsconfig*.json ./
COPY subgraphs ./subgraphs
COPY gateway ./gateway
COPY tools ./tools
COPY schema ./schema
RUN npx tsc -b \
 && npm run build -w @tm/live-board \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: production dependencies, compiled output, the committed schema ----
FROM node:20-bookworm-slim AS runtime
ARG SERVICE=gateway
ENV NODE_ENV=production \
    SERVICE=${SERVICE}
WORKDIR /app

# Files stay owned by root (read-only to the service); the process runs as `node`.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/subgraphs/kit/package.json subgraphs/kit/
COPY --from=build /app/subgraphs/kit/dist subgraphs/kit/dist
# the kit's OpenTelemetry 2.x SDK cannot be hoisted (@apollo/gateway holds the 1.x names at the root)
COPY --from=build /app/subgraphs/kit/node_modules subgraphs/kit/node_modules
COPY --from=build /app/subgraphs/users/package.json subgraphs/users/
COPY --from=build /app/subgraphs/users/dist subgraphs/users/dist
COPY --from=build /app/subgraphs/projects/package.json subgraphs/projects/
COPY --from=build /app/subgraphs/projects/dist subgraphs/projects/dist
COPY --from=build /app/subgraphs/tasks/package.json subgraphs/tasks/
COPY --from=build /app/subgraphs/tasks/dist subgraphs/tasks/dist
COPY --from=build /app/subgraphs/files/package.json subgraphs/files/
COPY --from=build /app/subgraphs/files/dist subgraphs/files/dist
COPY --from=build /app/subgraphs/notifications/package.json subgraphs/notifications/
COPY --from=build /app/subgraphs/notifications/dist subgraphs/notifications/dist
COPY --from=build /app/subgraphs/analytics/package.json subgraphs/analytics/
COPY --from=build /app/subgraphs/analytics/dist subgraphs/analytics/dist
COPY --from=build /app/gateway/package.json gateway/
COPY --from=build /app/gateway/dist gateway/dist
COPY --from=build /app/tools/package.json tools/
COPY --from=build /app/tools/dist tools/dist
# the live board's static build, served by `node tools/dist/live-board.js` (LIVE_BOARD_PORT, LIVE_BOARD_API)
COPY --from=build /app/tools/live-board/package.json tools/live-board/
COPY --from=build /app/tools/live-board/dist tools/live-board/dist
COPY --from=build /app/schema ./schema

USER node

# `sh -c` so $SERVICE expands; `exec` so SIGTERM/SIGINT reach node (graceful shutdown). The gateway
# runs with a 64 MiB young generation: fewer scavenges per request (README: Performance).
CMD ["sh", "-c", "if [ \"$SERVICE\" = gateway ]; then exec node --max-semi-space-size=64 gateway/dist/main.js; else exec node \"subgraphs/$SERVICE/dist/main.js\"; fi"]
