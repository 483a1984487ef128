"""Notifications' pure domain: who hears what, when, on which channel, and what they may be told."""
