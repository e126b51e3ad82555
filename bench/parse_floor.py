"""The floor for `dagctl validate --engine ast`: one python3 process that only reads and
ast.parses every *.py under a folder, and does nothing with the trees."""
import ast
import os
import sys

for folder, _, names in os.walk(sys.argv[1]):
    for name in names:
        if name.endswith(".py"):
            path = os.path.join(folder, name)
            with open(path, "rb") as fh:
                ast.parse(fh.read(), path)
