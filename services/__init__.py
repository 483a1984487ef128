"""Waypoint services, one package each."""
