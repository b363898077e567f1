# syntax=docker/dockerfile:1
# enrollgate as a container image: the package built and packed in one stage,
# installed from its tarball (production dependencies only, at the versions
# package-lock.json pins) in the next, run as the unprivileged `node` user
# from a read-only root filesystem. Policies are a mounted directory.
#
#   docker build -t enrollgate .
#   docker run --read-only -p 8080:8080 -p 9090:9090 \
#     -v "$PWD/policies:/etc/enrollgate/policies:ro" -e IOS27_BETA_TOKEN=... enrollgate
#
# No container engine runs where the tests run: test/deploy/dockerfile.test.ts
# performs these instructions in a temporary directory (the image's paths
# mapped into it) and starts the result. It refuses an instruction it does
# not know, so a change here is a change it runs.

ARG NODE_IMAGE=node:20-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build && mkdir -p /pkg && npm pack --ignore-scripts --pack-destination /pkg \
  && mv /pkg/enrollgate-*.tgz /pkg/enrollgate.tgz && cp package-lock.json /pkg/package-lock.json

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /opt/enrollgate
COPY --from=build /pkg/ /tmp/pkg/
# The tarball's package.json with the lockfile the project is tested with:
# npm ci installs exactly those versions, without the dev dependencies. npm
# makes a package's bin executable when it installs it as a dependency; this
# one is unpacked, so the link on PATH needs the mode set here.
RUN --mount=type=cache,target=/root/.npm tar -xzf /tmp/pkg/enrollgate.tgz --strip-components=1 --no-same-owner \
  && cp /tmp/pkg/package-lock.json package-lock.json \
  && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && rm -rf /tmp/pkg \
  && chmod 0755 dist/cli/main.js \
  && ln -s /opt/enrollgate/dist/cli/main.js /usr/local/bin/enrollgate
# The node image's unprivileged user (uid 1000); nothing it runs writes to the filesystem.
USER node
EXPOSE 8080 9090
# The admin listener answers /healthz; fetch is built into Node, so the image needs no curl.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9090/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["enrollgate", "serve"]
CMD ["--policies", "/etc/enrollgate/policies", "--port", "8080", "--admin-port", "9090", "--admin-host", "0.0.0.0"]
