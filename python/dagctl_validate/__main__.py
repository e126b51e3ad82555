"""Entry point: `python3 python/dagctl_validate < request.json` (the protocol is in protocol.py).

This file must stay readable by old interpreters (no f-strings, no annotations) so that a Python
too old for dagctl gets a clear answer instead of a SyntaxError."""
import json
import os
import sys

MIN_PYTHON = (3, 8)

if __name__ == "__main__":
    if sys.version_info < MIN_PYTHON:
        json.dump(
            {
                "error": {
                    "code": "PYTHON_TOO_OLD",
                    "message": "dagctl needs Python >= 3.8, %s is %s" % (sys.executable, sys.version.split()[0]),
                    "hint": "Point --python (or DAGCTL_PYTHON) at python3.8 or newer.",
                }
            },
            sys.stdout,
        )
        sys.exit(0)
    # Run as a folder, sys.path[0] is this folder: make it the parent, so that the package is
    # importable as `dagctl_validate` and its modules do not shadow anything by their bare names.
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:
        sys.path[0] = os.path.dirname(here)
    else:
        sys.path.insert(0, os.path.dirname(here))
    from dagctl_validate.protocol import main

    sys.exit(main(sys.argv[1:]))
