"""``python -m services.console``: the console on ``CONSOLE_PORT`` (8000)."""

import uvicorn

from services.console.app import create_app
from services.console.settings import ConsoleSettings

if __name__ == "__main__":
    settings = ConsoleSettings()
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.console_port,
                log_level=settings.log_level.lower(), proxy_headers=True)
