# FleetEdge's services, one image: a pod runs `fleet vessel run` or `fleet shore run` on the
# role's file (see docs/deploy.md). Kafka and Kafka Connect run from Strimzi's own images.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/fleetedge fleetedge
COPY --from=build /install /usr/local
# Numeric, so that Kubernetes can check runAsNonRoot.
USER 10001
ENV FLEET_HOME=/var/lib/fleetedge PYTHONUNBUFFERED=1
ENTRYPOINT ["fleet"]
CMD ["--help"]
