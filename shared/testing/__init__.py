"""Test helpers shared by every service's tests: tokens, in-process services, Kafka probes,
and given/when/then for pure aggregates."""
