# The DHO service image: one image for every part (`dho api`, `dho ingest`, `dho jobs`,
# `dho broker config`, `dho dashboard`); docker-compose.yml says which runs where.
# Build: docker build -t dho .        Guide: docs/deployment.md
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DHO_DATA_DIR=/var/lib/dho

# A system user without a login shell owns the data folder. /mosquitto/config is where
# `dho broker config` writes Mosquitto's files in docker-compose.yml: owned by uid 1883, the
# `mosquitto` user of the eclipse-mosquitto image, which must read them after dropping root.
RUN groupadd --system --gid 10001 dho \
    && useradd --system --uid 10001 --gid dho --home-dir /var/lib/dho --no-create-home \
        --shell /usr/sbin/nologin dho \
    && install -d -o dho -g dho -m 0750 /var/lib/dho \
    && install -d -o 1883 -g 1883 -m 0750 /mosquitto/config

# The project without its dev extras (no test or lint tools in the image).
COPY pyproject.toml README.md /src/
COPY devices /src/devices
COPY gateway /src/gateway
COPY triage /src/triage
COPY dashboard /src/dashboard
RUN pip install /src && rm -rf /src

USER dho
WORKDIR /var/lib/dho
EXPOSE 8000 8501

# No image-wide HEALTHCHECK: the same image runs the API, the ingest workers, the jobs and the
# dashboard, each healthy in its own way, so docker-compose.yml gives each service its own
# (`dho probe http …`). For a lone API container: --health-cmd "dho probe http
# http://127.0.0.1:8000/api/v1/ready".
ENTRYPOINT ["dho"]
CMD ["--help"]
