"""Run the monitoring service: `python -m services.monitoring`."""

from shared.runtime import serve

if __name__ == "__main__":
    serve("monitoring", "services.monitoring.entrypoints.app:create_app")
