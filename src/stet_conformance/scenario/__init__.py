"""Scenario engine: YAML files -> validated Scenario objects -> steps -> checks -> verdict."""
