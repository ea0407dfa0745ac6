# The Node host ("container mode"): `portolan serve` — the same API and UI as the Worker, plus UDP, ALPN,
# peer certificates, self-signed targets with pinning, and (as root) privileged source ports.
# For Cloudflare Containers or any container platform. Not built in this repository's CI: the development
# environment has no container runtime (see docs/capabilities.md).
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080

# Dependencies first, for layer caching. Dev dependencies too: tsx runs the TypeScript sources, vite builds the UI.
COPY package.json package-lock.json ./
RUN npm ci --include=dev --no-audit --no-fund

COPY . .
# The UI's static assets (web/dist), served by the Node host like the Workers assets binding.
RUN npm run build:web

# Root inside the container lets the rsh family bind source ports below 1024 (the probe at /api/runtime says
# whether it could). Run with an unprivileged user instead if you do not need them: USER node.
EXPOSE 8080/tcp
# ALLOW_TARGETS, ACCESS_TOKEN, RATE_LIMIT_CLIENT and RATE_LIMIT_TARGET configure it like the Worker.
CMD ["node", "cli/portolan.mjs", "serve"]
