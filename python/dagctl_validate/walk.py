"""One walk of a file's tree: imports, aliases, calls, decorated functions, module constants."""

import ast

IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


class FileAnalysis:
    """Everything one walk of one file collects; the rules then run on these few nodes."""

    __slots__ = ("aliases", "star_airflow", "imports", "calls", "decorated", "assigns", "store_counts")

    def __init__(self):
        self.aliases = {}  # local name -> qualified name, from imports
        self.star_airflow = False
        self.imports = []  # (node, guarded by try/except ImportError)
        self.calls = []  # (Call, locals of enclosing functions or None, enclosing module-level For loops)
        self.decorated = []  # (FunctionDef, locals of enclosing functions)
        self.assigns = {}  # module-level NAME -> value expression (last one)
        self.store_counts = {}  # module-level name -> times bound


_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
_CHILD_FIELDS = {}


def walk(tree, acc):
    """One pre-order pass. Scope: None at module level, else the set of names local to the
    enclosing function(s) (filled as the walk goes on, read only after it ends)."""
    Call, Name, Store, Lambda, Import, ImportFrom = ast.Call, ast.Name, ast.Store, ast.Lambda, ast.Import, ast.ImportFrom
    Assign, Try, If, ClassDef, arg_t, For = ast.Assign, ast.Try, ast.If, ast.ClassDef, ast.arg, ast.For
    TryStar = getattr(ast, "TryStar", Try)
    Constant, keyword_t = ast.Constant, ast.keyword
    child_fields = _CHILD_FIELDS
    calls, imports, store_counts = acc.calls, acc.imports, acc.store_counts
    # stack items: (node, scope, guarded by `except ImportError`, enclosing module-level For loops)
    stack = [(tree, None, False, ())]
    pop, push = stack.pop, stack.append
    while stack:
        node, scope, guarded, loops = pop()
        t = type(node)
        if t is Constant:  # a default value, a lambda's body, a loop's iterable
            continue
        if t is Call:
            calls.append((node, scope, loops))
        elif t is Name:
            if type(node.ctx) is Store:
                if scope is None:
                    store_counts[node.id] = store_counts.get(node.id, 0) + 1
                else:
                    scope.add(node.id)
            continue
        elif t is Import or t is ImportFrom:
            imports.append((node, guarded))
            record_import(node, acc)
            continue
        elif t in _FUNCS:
            if scope is not None:
                scope.add(node.name)
            else:
                store_counts[node.name] = store_counts.get(node.name, 0) + 1
            inner = set() if scope is None else set(scope)
            if node.decorator_list:
                acc.decorated.append((node, scope))
            a = node.args
            for p in a.posonlyargs + a.args + a.kwonlyargs:
                inner.add(p.arg)
            if a.vararg:
                inner.add(a.vararg.arg)
            if a.kwarg:
                inner.add(a.kwarg.arg)
            # decorators and defaults run at import time; the body does not
            for child in reversed(node.body):
                push((child, inner, guarded, ()))
            for child in reversed(a.defaults + [d for d in a.kw_defaults if d is not None] + node.decorator_list):
                push((child, scope, guarded, loops))
            continue
        elif t is Lambda:
            inner = set() if scope is None else set(scope)
            inner.update(p.arg for p in node.args.args)
            push((node.body, inner, guarded, ()))
            continue
        elif t is Assign:
            if scope is None and len(node.targets) == 1 and type(node.targets[0]) is Name:
                acc.assigns[node.targets[0].id] = node.value
        elif t is Try or t is TryStar:
            if not guarded and any(catches_import_error(h.type) for h in node.handlers):
                guarded = True
        elif t is If and not guarded and is_type_checking(node.test):
            # imports only type checkers see are never executed: not an Airflow 3 break
            for child in node.body:
                push((child, scope, True, loops))
            for child in node.orelse:
                push((child, scope, guarded, loops))
            continue
        elif t is If and scope is None and is_main_guard(node.test):
            # `if __name__ == "__main__":` never runs when Airflow imports the file
            for child in reversed(node.body):
                push((child, set(), guarded, ()))
            for child in reversed(node.orelse):
                push((child, scope, guarded, loops))
            continue
        elif t is For and scope is None:
            # module-level loops over literal lists are how most "dynamic" DAG files look:
            # their bodies see the loop so that ids built from the loop variable resolve
            push((node.target, scope, guarded, loops))
            push((node.iter, scope, guarded, loops))
            inner_loops = loops + (node,)
            for child in reversed(node.orelse):
                push((child, scope, guarded, loops))
            for child in reversed(node.body):
                push((child, scope, guarded, inner_loops))
            continue
        elif t is ClassDef:
            if scope is None:
                store_counts[node.name] = store_counts.get(node.name, 0) + 1
        elif t is arg_t:
            continue
        # Generic children. The hot loop of the whole tool: constants, keyword wrappers, names and
        # expression contexts are most of a DAG file's nodes, so they are handled here, not pushed.
        fields = child_fields.get(t)
        if fields is None:
            fields = child_fields[t] = tuple(f for f in t._fields if f not in SCALAR_FIELDS)
        for field in fields:
            v = getattr(node, field, None)
            if v is None:
                continue
            for x in v if type(v) is list else (v,):
                tx = type(x)
                if tx is keyword_t:
                    x = x.value
                    tx = type(x)
                if tx is Constant or x is None:
                    continue
                if tx is Name:
                    if type(x.ctx) is Store:
                        if scope is None:
                            store_counts[x.id] = store_counts.get(x.id, 0) + 1
                        else:
                            scope.add(x.id)
                    continue
                push((x, scope, guarded, loops))

# fields that never hold a node worth visiting (names, flags, operators, expression contexts)
SCALAR_FIELDS = frozenset(
    ("ctx", "op", "ops", "id", "attr", "name", "asname", "module", "level", "arg", "kind", "conversion", "is_async", "type_comment", "simple", "names", "type_ignores", "tag", "rest", "kwd_attrs")
)


def catches_import_error(expr):
    if expr is None:  # bare except
        return True
    if type(expr) is ast.Tuple:
        return any(catches_import_error(e) for e in expr.elts)
    return type(expr) is ast.Name and expr.id in IMPORT_ERRORS


def is_type_checking(test):
    return (type(test) is ast.Name and test.id == "TYPE_CHECKING") or (type(test) is ast.Attribute and test.attr == "TYPE_CHECKING")


def is_main_guard(test):
    return (
        type(test) is ast.Compare
        and type(test.left) is ast.Name
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and type(test.comparators[0]) is ast.Constant
        and test.comparators[0].value == "__main__"
    )


def record_import(node, acc):
    aliases = acc.aliases
    if type(node) is ast.Import:
        for a in node.names:
            if a.asname:
                aliases[a.asname] = a.name
            else:
                top = a.name.split(".", 1)[0]
                aliases[top] = top
    elif node.level == 0 and node.module:
        for a in node.names:
            if a.name == "*":
                if node.module.startswith("airflow"):
                    acc.star_airflow = True
                continue
            aliases[a.asname or a.name] = f"{node.module}.{a.name}"


def qualified(expr, aliases):
    """Dotted name of a Name/Attribute chain, with its root resolved through the imports."""
    parts = []
    while type(expr) is ast.Attribute:
        parts.append(expr.attr)
        expr = expr.value
    if type(expr) is not ast.Name:
        return None
    root = aliases.get(expr.id)
    if root is None:
        return None
    parts.append(root)
    return ".".join(reversed(parts))


def callee_name(func):
    if type(func) is ast.Name:
        return func.id
    if type(func) is ast.Attribute:
        return func.attr
    return None
