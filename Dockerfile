# One image for every service; the command chooses the service (see docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
RUN pip install --no-cache-dir uv==0.13.9
COPY . .
RUN uv sync --frozen --no-dev && ln -s /app/.venv/bin/* /usr/local/bin/ 2>/dev/null || true
ENV PATH="/app/.venv/bin:$PATH"
USER nobody
