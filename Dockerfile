# A slim image of the ledger: the API (`ledger serve`), the projection worker
# (`ledger projections run`) and the CLI. Two stages: the build stage installs the
# package into a virtualenv; the image gets that virtualenv and the migrations only,
# no sources, build files or pip cache.
FROM python:3.11-slim AS build

RUN python -m venv /opt/ledger
WORKDIR /src
# pyproject.toml names README.md as the package's readme: the build reads it.
COPY pyproject.toml README.md ./
COPY src ./src
RUN /opt/ledger/bin/pip install --no-cache-dir .

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/ledger/bin:$PATH \
    LEDGER_MIGRATIONS_DIR=/app/migrations \
    LEDGER_DATA_DIR=/var/lib/ledger

# Never root: the ledger needs no privilege, only its data directory (reports).
RUN useradd --system --home-dir /var/lib/ledger --create-home ledger
WORKDIR /app
COPY --from=build /opt/ledger /opt/ledger
COPY migrations ./migrations
USER ledger

EXPOSE 8000
CMD ["ledger", "serve", "--host", "0.0.0.0", "--port", "8000"]
