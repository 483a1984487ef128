"""Intake's pure domain: instruments and their scoring, the risk level, participants and consents.

No I/O and no clock: every decision takes the time it happens at.
"""
