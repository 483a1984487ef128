# One image for the four services; the service is chosen by the command (python -m services.<name>).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY deploy ./deploy
RUN pip install --no-cache-dir . && useradd --system waypoint
USER waypoint
ENV LOG_JSON=true HTTP_HOST=0.0.0.0
CMD ["python", "-m", "services.intake"]
