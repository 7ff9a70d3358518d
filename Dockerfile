# Multi-stage: build with the Rust toolchain, run on a small Debian with a non-root user.
FROM rust:1.88-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# The workspace lists the bench member; its manifest must be there, though only the service is built.
COPY bench/Cargo.toml ./bench/Cargo.toml
COPY bench/src ./bench/src
RUN cargo build --release -p liveroom --bin liveroom

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10001 liveroom
COPY --from=build /src/target/release/liveroom /usr/local/bin/liveroom
USER liveroom
ENV LIVEROOM_BIND=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=2s CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["liveroom"]
CMD ["serve"]
