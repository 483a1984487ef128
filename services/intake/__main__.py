"""Run the intake service: `python -m services.intake`."""

from shared.runtime import serve

if __name__ == "__main__":
    serve("intake", "services.intake.entrypoints.app:create_app")
