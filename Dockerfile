# A slim image of the ledger: the API (`ledger serve`) and the CLI.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LEDGER_MIGRATIONS_DIR=/app/migrations \
    LEDGER_DATA_DIR=/var/lib/ledger

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY migrations ./migrations
RUN pip install --no-cache-dir . \
    && useradd --system --home-dir /var/lib/ledger --create-home ledger
USER ledger

EXPOSE 8000
CMD ["ledger", "serve", "--host", "0.0.0.0", "--port", "8000"]
