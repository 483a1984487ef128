"""Run the notifications service: `python -m services.notifications`."""

from shared.runtime import serve

if __name__ == "__main__":
    serve("notifications", "services.notifications.entrypoints.app:create_app")
