"""`# dagctl: ignore[rule]` and `# dagctl: ignore[rule1,rule2]`: silence those rules on one line.

The comment goes on the line a finding is reported at (the line of `DAG(`, of the import, of the
call). Only real comments count (tokenize confirms a match; a string that contains the text does not
silence anything). Every comment is reported back, with how many findings it silenced, so that a
reviewer sees each use and a stale one (0 silenced) is easy to find."""

import io
import re
import tokenize

MARKER = b"dagctl:"
_COMMENT_RE = re.compile(r"#\s*dagctl:\s*ignore\[([^\]]*)\]")


def scan(source):
    """{line: [rules]} of the ignore comments of one file's bytes (empty for most files: one memchr)."""
    if MARKER not in source:
        return {}
    found = {}
    try:
        for tok in tokenize.tokenize(io.BytesIO(source).readline):
            if tok.type == tokenize.COMMENT:
                _add(found, tok.start[0], tok.string)
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError, ValueError):
        # a file that does not tokenize (its syntax-error is reported anyway): read the lines
        found = {}
        for number, line in enumerate(source.decode("utf-8", "replace").splitlines(), 1):
            if "#" in line:
                _add(found, number, line[line.index("#") :])
    return found


def _add(found, line, text):
    m = _COMMENT_RE.search(text)
    if m:
        rules = [r.strip() for r in m.group(1).split(",") if r.strip()]
        if rules:
            found[line] = rules


def apply(findings, ignores):
    """(kept findings, uses): `ignores` is {file: {line: [rules]}}; each use is
    {file, line, rules, silenced}, silenced counting the findings that comment removed."""
    silenced = {}
    kept = []
    for f in findings:
        rules = ignores.get(f["file"], {}).get(f["line"]) if f["line"] else None
        if rules and f["rule"] in rules:
            key = (f["file"], f["line"])
            silenced[key] = silenced.get(key, 0) + 1
            continue
        kept.append(f)
    uses = [
        {"file": file, "line": line, "rules": rules, "silenced": silenced.get((file, line), 0)}
        for file in sorted(ignores)
        for line, rules in sorted(ignores[file].items())
    ]
    return kept, uses
