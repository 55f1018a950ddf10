# The server image: workers, beat and the migrate step all run from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY db db
COPY workers workers
COPY integrations integrations
COPY parsers parsers
COPY insights insights
COPY celeryconfig.py ./
RUN pip install . && useradd --create-home --uid 10001 vitalis
USER vitalis

CMD ["vitalis", "worker"]
