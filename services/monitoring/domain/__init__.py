"""Monitoring's pure domain: schedules, check-ins, escalation, milestones, timeline lines.

No I/O and no clock reads: every rule takes the current time as ``now``.
"""
