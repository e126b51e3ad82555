# The dagctl image the sync sidecar (and init container) runs. Build from the repository root:
#   docker build -t dagctl:0.1.0 .
# Run:  docker run --rm -e DAGCTL_STORE=s3://bucket/prefix -e DAGCTL_ENV=prod -v dags:/dags dagctl:0.1.0 sync --to /dags
FROM node:26-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
COPY bin ./bin
COPY scripts ./scripts
COPY templates ./templates
COPY python ./python
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:26-slim
# SHELL set: without it oclif asks os.userInfo() for the user's shell, which throws (ENOENT) under a
# uid the image has no passwd entry for (a pod's runAsUser, OpenShift's random uids): every command
# would fail at start-up.
ENV NODE_ENV=production NO_COLOR=1 SHELL=/bin/sh
WORKDIR /app
COPY --from=build /src/package.json /src/oclif.manifest.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin
COPY --from=build /src/templates ./templates
COPY --from=build /src/python ./python
RUN ln -s /app/bin/run.js /usr/local/bin/dagctl
# The image's own non-root user (uid 1000); files sync writes are world-readable (0644/0755), so
# Airflow's user (uid 50000 in the official image) reads them from the shared volume.
USER node
EXPOSE 9102
ENTRYPOINT ["dagctl"]
CMD ["sync", "--metrics-port", "9102"]
