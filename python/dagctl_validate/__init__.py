"""dagctl's Python helper for `validate` (see protocol.py; run as `python3 python/dagctl_validate`)."""
