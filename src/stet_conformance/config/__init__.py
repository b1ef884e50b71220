"""Reading user input: YAML with line numbers, JSON Schema validation, target profiles."""
