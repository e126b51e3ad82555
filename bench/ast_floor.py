"""The floor under `dagctl validate --engine ast`: one python3 process that only reads and
ast.parses every .py file under a folder. Prints the number of files parsed."""
import ast
import os
import sys

count = 0
for folder, _dirs, files in os.walk(sys.argv[1]):
    for name in sorted(files):
        if name.endswith(".py"):
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                ast.parse(f.read(), filename=path)
            count += 1
print(count)
