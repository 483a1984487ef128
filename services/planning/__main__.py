"""Run the planning service: `python -m services.planning`."""

from shared.runtime import serve

if __name__ == "__main__":
    serve("planning", "services.planning.entrypoints.app:create_app")
