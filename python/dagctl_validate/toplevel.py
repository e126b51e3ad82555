"""top-level-code: calls that do I/O or read the clock when the scheduler imports a file."""

# Calls that do I/O or read the clock when run at import time (module level).
NETWORK_CALLS = {
    "urllib.request.urlopen",
    "urllib.request.urlretrieve",
    "urllib.request.Request",
    "socket.create_connection",
    "socket.socket",
    "socket.gethostbyname",
    "socket.getaddrinfo",
    "http.client.HTTPConnection",
    "http.client.HTTPSConnection",
}
NETWORK_MODULE_METHODS = {
    "requests": {"get", "post", "put", "patch", "delete", "head", "options", "request"},
    "httpx": {"get", "post", "put", "patch", "delete", "head", "options", "request", "stream"},
}
CLOCK_CALLS = {
    "datetime.datetime.now",
    "datetime.datetime.utcnow",
    "datetime.datetime.today",
    "datetime.date.today",
    "pendulum.now",
    "pendulum.today",
    "pendulum.yesterday",
    "pendulum.tomorrow",
    "airflow.utils.timezone.utcnow",
}
CONNECTION_METHODS = {"get_connection", "get_connection_from_secrets", "get_connections"}


TOP_LEVEL_WORDS = (b"now", b"Variable", b"onnection", b"http", b"request", b"urllib", b"socket", b"today", b"yesterday", b"tomorrow")


def may_run_at_import(source):
    # bytes `in` is a memchr-fast scan; one regex alternation of these words costs ten times more
    for word in TOP_LEVEL_WORDS:
        if word in source:
            return True
    return False

TOP_LEVEL_HINTS = {
    "Airflow Variable": "Read it inside the task (a @task function or python_callable), or use a template such as \"{{ var.value.NAME }}\".",
    "Airflow connection": "Look the connection up inside the task, or pass its id (conn_id=...) to an operator or hook.",
    "network call": "Move the call into a task; the scheduler must parse DAG files quickly and offline.",
    "clock read": "Use a fixed start_date (e.g. `pendulum.datetime(2024, 1, 1, tz=\"UTC\")`) and templates such as \"{{ ds }}\" for run dates.",
}


def top_level_problem(q):
    parts = q.split(".")
    if q.startswith("airflow"):
        if len(parts) >= 2 and parts[-2] == "Variable" and parts[-1] in ("get", "set", "setdefault"):
            return "Airflow Variable"
        if parts[-1] in CONNECTION_METHODS:
            return "Airflow connection"
        if len(parts) >= 2 and parts[-2] == "Connection" and parts[-1] == "get":
            return "Airflow connection"
        if q in CLOCK_CALLS:
            return "clock read"
        return None
    if q in CLOCK_CALLS:
        return "clock read"
    if q in NETWORK_CALLS:
        return "network call"
    methods = NETWORK_MODULE_METHODS.get(parts[0])
    if methods is not None and len(parts) == 2 and parts[1] in methods:
        return "network call"
    return None
