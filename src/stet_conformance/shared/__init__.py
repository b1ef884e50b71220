"""Pure helpers shared by the harness and the reference sandbox (no I/O beyond reading files)."""
