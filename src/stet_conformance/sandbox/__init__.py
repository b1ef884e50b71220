"""The reference ASPSP (see server.py). Cheap to import: its modules load what they serve."""

PROFILE_FILE = "profile.yaml"  # the target profile a sandbox writes into its directory
PKI_DIR = "pki"  # and the folder of its test PKI (pki.py)
