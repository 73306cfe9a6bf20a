# Builds the `topup` binary and runs it on a slim Debian image.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --profile dist --locked -p topup-server

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/topup --create-home topup
COPY --from=build /src/target/dist/topup /usr/local/bin/topup
USER topup
WORKDIR /var/lib/topup
EXPOSE 8080
# A container is reached from outside, so it runs the production mode: real WeChat and
# providers from /etc/topup/topup.toml (see deploy/topup.example.toml). The embedded mode's
# sandbox payments stay on a developer's loopback address.
ENV TOPUP_MODE=production
ENTRYPOINT ["topup"]
CMD ["serve", "--config", "/etc/topup/topup.toml", "--listen", "0.0.0.0:8080", "--data-dir", "/var/lib/topup/data", "--log-format", "json"]
