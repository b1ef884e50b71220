"""Reading user input: YAML with line numbers, schema checks, target profiles, the token store."""
