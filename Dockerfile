# Molthub as a container: the compiled single binary on a small Debian base.
# Build:  docker build -t molthub .
# Run:    docker run -d -p 127.0.0.1:8080:8080 -v molthub-data:/data -v /var/run/docker.sock:/var/run/docker.sock molthub
FROM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm ca-certificates && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx bun scripts/build.ts

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /data molthub && mkdir -p /data && chown molthub /data
COPY --from=build /src/dist/molthub /usr/local/bin/molthub
USER molthub
ENV MOLTHUB_DATA_DIR=/data MOLTHUB_HOST=0.0.0.0 MOLTHUB_PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD ["/usr/local/bin/molthub", "doctor"]
ENTRYPOINT ["/usr/local/bin/molthub"]
CMD ["serve"]
