# dti-operator: a static binary on distroless, running as a non-root user. The release recipe; the tests
# build the same image shape without Docker (scripts/image.sh) and check both declare the same entrypoint,
# command, user and port.
#   docker build -t ghcr.io/dti-dev/dti-operator:0.1.0 .
FROM rust:1.95-bookworm AS build
RUN rustup target add x86_64-unknown-linux-musl && apt-get update && apt-get install -y --no-install-recommends musl-tools && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY crds ./crds
# okta-sim is a workspace member: cargo needs its manifest even when building the operator alone.
COPY okta-sim ./okta-sim
RUN cargo build --release --locked --target x86_64-unknown-linux-musl -p dti-operator --bin dti-operator \
 && cp target/x86_64-unknown-linux-musl/release/dti-operator /dti-operator

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /dti-operator /usr/local/bin/dti-operator
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/dti-operator"]
CMD ["run"]
