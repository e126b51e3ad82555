"""Static values of DAG id expressions."""

import ast

from .walk import qualified

MAX_EXPANDED_IDS = 1000


class Resolver:
    """Static value of an id expression: string constants, module-level constants, f-strings, +,
    and the variables of module-level loops over literal lists, dicts and range()."""

    def __init__(self, acc, rel):
        self.acc = acc
        self.rel = rel
        self.cache = {}

    def constant(self, name):
        """The expression bound once, by a plain assignment, to a module-level name."""
        if self.acc.store_counts.get(name) != 1:
            return None
        return self.acc.assigns.get(name)

    def prefix(self, expr, scope, env=None, depth=0):
        """(text, complete): the resolvable leading text, and whether it is the whole value."""
        t = type(expr)
        if t is ast.Constant:
            return (expr.value, True) if type(expr.value) is str else ("", False)
        if depth > 20:
            return "", False
        if t is ast.Name:
            name = expr.id
            if env and name in env:
                return env[name], True
            if scope is not None and name in scope:
                return "", False
            bound = self.constant(name)
            if bound is None:
                return "", False
            if env:
                return self.prefix(bound, None, env, depth + 1)
            if name not in self.cache:
                self.cache[name] = ("", False)  # cycle guard
                self.cache[name] = self.prefix(bound, None, None, depth + 1)
            return self.cache[name]
        if t is ast.JoinedStr:
            out = []
            for part in expr.values:
                if type(part) is ast.Constant:
                    out.append(part.value)
                    continue
                if part.conversion not in (-1, 115) or part.format_spec is not None:
                    return "".join(out), False
                text, complete = self.prefix(part.value, scope, env, depth + 1)
                out.append(text)
                if not complete:
                    return "".join(out), False
            return "".join(out), True
        if t is ast.Attribute and expr.attr == "stem" and self.is_path_of_this_file(expr.value):
            # dag_id=Path(__file__).stem: the file's name without .py
            name = self.rel.rsplit("/", 1)[-1]
            return (name[:-3] if name.endswith(".py") else name), True
        if t is ast.BinOp and type(expr.op) is ast.Add:
            left, complete = self.prefix(expr.left, scope, env, depth + 1)
            if not complete:
                return left, False
            right, complete = self.prefix(expr.right, scope, env, depth + 1)
            return left + right, complete
        return "", False

    def is_path_of_this_file(self, expr):
        return (
            type(expr) is ast.Call
            and len(expr.args) == 1
            and type(expr.args[0]) is ast.Name
            and expr.args[0].id == "__file__"
            and qualified(expr.func, self.acc.aliases) in ("pathlib.Path", "pathlib.PurePath")
        )

    def literal(self, expr, depth=0):
        if type(expr) is ast.Name and depth < 5:
            bound = self.constant(expr.id)
            return self.literal(bound, depth + 1) if bound is not None else None
        if type(expr) is ast.Call and type(expr.func) is ast.Attribute and not expr.args and expr.func.attr in ("items", "keys", "values"):
            value = self.literal(expr.func.value, depth + 1)
            if not isinstance(value, dict):
                return None
            return list(getattr(value, expr.func.attr)())
        if type(expr) is ast.Call and type(expr.func) is ast.Name and expr.func.id == "range" and "range" not in self.acc.aliases:
            try:
                r = range(*[ast.literal_eval(a) for a in expr.args])
            except (ValueError, TypeError, SyntaxError):
                return None
            return list(r) if len(r) <= MAX_EXPANDED_IDS else None
        try:
            value = ast.literal_eval(expr)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return None
        return value

    def loop_envs(self, loops):
        """Every binding of the loop variables (one dict per iteration, nested loops multiplied),
        or None when a loop does not iterate over a literal."""
        envs = [{}]
        for loop in loops:
            items = self.literal(loop.iter)
            if isinstance(items, (dict, set, frozenset)):
                items = list(items)
            if not isinstance(items, (list, tuple)):
                return None
            rows = [bind(loop.target, item) for item in items]
            envs = [{**env, **row} for env in envs for row in rows]
            if len(envs) > MAX_EXPANDED_IDS:
                return None
        return envs


def bind(target, value):
    if type(target) is ast.Name:
        if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            return {target.id: str(value)}
        return {}
    if type(target) in (ast.Tuple, ast.List) and isinstance(value, (tuple, list)) and len(value) == len(target.elts):
        out = {}
        for elt, v in zip(target.elts, value):
            out.update(bind(elt, v))
        return out
    return {}
