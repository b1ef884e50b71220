"""The reference ASPSP (see server.py). Cheap to import: its modules load what they serve."""

PROFILE_FILE = "profile.yaml"  # the target profile a sandbox writes into its directory
PKI_DIR = "pki"  # and the folder of its test PKI (pki.py)
# Requests in flight at once that its profile declares (``concurrency``): the workers of a run
# without -n. Measured on a 2-core machine (docs/performance.md).
CONCURRENCY = 6
