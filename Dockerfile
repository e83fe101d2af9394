# syntax=docker/dockerfile:1
# Economy Bridge images: `docker build --target api -t economy-api .` and
# `docker build --target bot -t economy-bot .`. Multi-stage: the toolchain stays in the builder;
# the runtime images hold one binary, CA roots, tini, and run as a non-root user.
# Neither binary links the Luau engine emulator (that is test/sandbox only), so the build is lean.

FROM rust:1.95-slim-bookworm AS builder
WORKDIR /src
COPY . .
# BuildKit cache mounts keep the registry and target dir between builds (nothing is baked in).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p api --bin economy-api -p bot --bin economy-bot \
    && install -D -m 0755 target/release/economy-api /out/economy-api \
    && install -D -m 0755 target/release/economy-bot /out/economy-bot

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 economy \
    && useradd --system --uid 10001 --gid economy --home-dir /var/lib/economy --create-home economy
WORKDIR /var/lib/economy
USER 10001:10001
ENTRYPOINT ["/usr/bin/tini", "--"]

FROM runtime AS api
COPY --from=builder /out/economy-api /usr/local/bin/economy-api
ENV API_BIND=0.0.0.0:8080 \
    DATABASE_URL=sqlite:///var/lib/economy/economy-audit.db \
    RUST_LOG=info
EXPOSE 8080
# bash's /dev/tcp keeps curl out of the image; /readyz answers 200 only when the DB is reachable.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /readyz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
CMD ["economy-api", "serve"]

FROM runtime AS bot
COPY --from=builder /out/economy-bot /usr/local/bin/economy-bot
ENV BOT_DATABASE_URL=sqlite:///var/lib/economy/economy-bot.db \
    BOT_METRICS_BIND=0.0.0.0:9100 \
    RUST_LOG=info
EXPOSE 9100
# tini passes SIGTERM on; a clean stop takes up to about 45 s (docs/operations.md, "Stopping the
# bot"): run it with `docker stop -t 60` or compose's stop_grace_period, not Docker's default 10 s.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9100 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
CMD ["economy-bot", "serve"]
