"""Measure what checking a client's query costs on the worst inputs we can build, by size.

Each input is generated at 1, 8, 64 and 512 KiB (512 KiB is the body limit,
``MAX_CONTENT_LENGTH``) and measured in a fresh process, killed at the cap (``--cap``):

- **check**: ``service.querysafety.check_query(text)`` in process, the time a web thread spends
  deciding whether to run the query;
- **POST**: the wall time of ``POST /sparql`` (``application/sparql-query``) through Flask's test
  client over the embedded store of the shipped data, with the status answered;
- **POST remote** (``--measures check,post,remote``): the same through zigraph over an
  ``oxigraph serve`` of an empty store (restarted if a query kills it), the path where the
  remote backend reads the query's text as well.

Once an input exceeds the cap at one size, its larger sizes are not run. Only
``check_query(text)`` and the HTTP route are used, so the script measures any implementation.

    python bench/check_cost.py --output bench/results/check-cost.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from run import free_port, process_tree  # bench/run.py, beside this file

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
KIB = 1024
SIZES = (1 * KIB, 8 * KIB, 64 * KIB, 512 * KIB)
CAP_SECONDS = 60.0
JSON_ACCEPT = "application/sparql-results+json, application/json;q=0.9"
SELECT = "SELECT * WHERE { ?s ?p "  # the head of most inputs: an object is expected next


def fill(head: str, unit: Callable[[int], str] | str, tail: str, size: int) -> str:
    """Return ``head``, then ``unit`` repeated, then ``tail``, padded with spaces to ``size``."""
    room = size - len(head) - len(tail)
    parts: list[str] = []
    if isinstance(unit, str):
        parts.append(unit * max(0, room // len(unit)))
    else:
        used, index = 0, 0
        while used + len(piece := unit(index)) <= room:
            parts.append(piece)
            used += len(piece)
            index += 1
    return pad(head + "".join(parts) + tail, size)


def pad(text: str, size: int) -> str:
    """Return ``text`` with spaces added up to ``size`` characters (all inputs are ASCII)."""
    return text + " " * (size - len(text))


def nested(depth: int) -> str:
    return "(" * depth + "1" + ")" * depth


# name: (what it is, the text at a size in bytes). Each aims at one way a reader can go wrong:
# retrying from every position (quadratic), recursing once per character (stack), walking back
# to the start for every token, or evaluating something huge.
INPUTS: dict[str, tuple[str, Callable[[int], str]]] = {
    "escape-run-double": (
        'a quote, escaped quotes `\\"`, a bad escape `\\q`',
        lambda n: fill(SELECT + '"', '\\"', "\\q }", n),
    ),
    "escape-run-single": (
        "the same in a single-quoted string",
        lambda n: fill(SELECT + "'", "\\'", "\\q }", n),
    ),
    "escape-run-long-string": (
        'the same after `"""`',
        lambda n: fill(SELECT + '"""', '\\"', "\\q }", n),
    ),
    "escape-run-as-codepoints": (
        "a valid string of `\\u005C\\u0022` that expands into an escape run",
        lambda n: fill(SELECT + '"', "\\u005C\\u0022", '\\u005Cq" }', n),
    ),
    "unterminated-string": ('`"` and letters to the end', lambda n: fill(SELECT + '"', "a", "", n)),
    "unterminated-long-string": (
        '`"""` and `a"` to the end',
        lambda n: fill(SELECT + '"""', 'a"', "", n),
    ),
    "quote-run": ('`"` repeated', lambda n: fill(SELECT, '"', "", n)),
    "long-string": ("one valid string literal", lambda n: fill(SELECT + '"', "a", '" }', n)),
    "codepoint-escapes": (
        "a valid string of `\\u0041` escapes",
        lambda n: fill(SELECT + '"', "\\u0041", '" }', n),
    ),
    "nesting-past-64": (
        "`(` nested as deep as the size allows, then closed",
        lambda n: pad(SELECT + "?o FILTER" + nested((n - len(SELECT) - 14) // 2) + " }", n),
    ),
    "nesting-62-repeated": (
        "FILTERs nested 62 deep (63 with the group), repeated",
        lambda n: fill(SELECT + "?o ", "FILTER(" + nested(61) + ") ", "}", n),
    ),
    "open-parentheses": ("`(` to the end", lambda n: fill(SELECT + "?o FILTER", "(", "", n)),
    "open-braces": ("`{` to the end", lambda n: fill("SELECT * WHERE ", "{", "", n)),
    "open-brackets": ("`[` to the end", lambda n: fill(SELECT, "[", "", n)),
    "lt-run": ("`<` to the end", lambda n: fill(SELECT, "<", "", n)),
    "iri-without-end": (
        "an IRI with no `>`",
        lambda n: fill(SELECT + "<http://example.org/", "a", "", n),
    ),
    "long-local-name": (
        "one prefixed name with a long local part",
        lambda n: fill("PREFIX e: <http://example.org/> " + SELECT + "e:", "a", " }", n),
    ),
    "long-prefix": (
        "a prefixed name with a long prefix",
        lambda n: fill(SELECT + "e", "a", ":b }", n),
    ),
    "dotted-run": ("`x.x.x.…` as an object", lambda n: fill(SELECT, "x.", "x }", n)),
    "dotted-local-name": (
        "`e:x.x.x.…`",
        lambda n: fill("PREFIX e: <http://example.org/> " + SELECT + "e:", "x.", "x }", n),
    ),
    "local-name-then-dots": (
        "`e:x…` followed by a run of dots",
        lambda n: fill("PREFIX e: <http://example.org/> " + SELECT + "e:x", ".", " }", n),
    ),
    "long-variable": ("one long variable name", lambda n: fill("SELECT ?", "v", " WHERE {}", n)),
    "long-comment": (
        "one comment line, then a query",
        lambda n: fill("# ", "x", "\nSELECT * WHERE {}", n),
    ),
    "many-prefixes": (
        "PREFIX declarations",
        lambda n: fill("", lambda i: f"PREFIX p{i}: <http://example.org/{i}#> ", "ASK {}", n),
    ),
    "values-block": (
        "one VALUES block of many rows",
        lambda n: fill("SELECT * WHERE { VALUES (?a ?b) { ", lambda i: f'({i} "v{i}") ', "} }", n),
    ),
    "many-as-unbracketed": (
        "`AS ?v` repeated outside any bracket",
        lambda n: fill(SELECT + "?o ", "AS ?v ", "}", n),
    ),
    "many-bind": (
        "`BIND(1 AS ?vN)` repeated",
        lambda n: fill("SELECT * WHERE { ", lambda i: f"BIND({i} AS ?v{i}) ", "}", n),
    ),
    "many-triple-patterns": (
        "triple patterns on one subject",
        lambda n: fill("SELECT ?s WHERE { ", lambda i: f"?s <urn:p{i}> ?o{i} . ", "}", n),
    ),
    "many-filters": (
        "FILTERs in one group",
        lambda n: fill(SELECT + "?o ", lambda i: f"FILTER(?o != {i}) ", "}", n),
    ),
    "object-list": ("one object list `1, 1, …`", lambda n: fill(SELECT + "1", ", 1", " }", n)),
    "sum-chain": (
        "`1 + 1 + …` in one FILTER",
        lambda n: fill(SELECT + "?o FILTER(?o != 1", " + 1", ") }", n),
    ),
    "or-chain": (
        "`?o = 1 \\|\\| …` in one FILTER",
        lambda n: fill(SELECT + "?o FILTER(?o = 1", " || ?o = 1", ") }", n),
    ),
    "not-run": (
        "`!!!…true` in one FILTER",
        lambda n: fill(SELECT + "?o FILTER(", "!", "true) }", n),
    ),
    "minus-run": (
        "`- - - … 1` in one BIND",
        lambda n: fill("SELECT * WHERE { BIND(", "- ", "1 AS ?x) }", n),
    ),
    "path-sequence": (
        "`<urn:p>/<urn:p>/…`",
        lambda n: fill("SELECT * WHERE { ?s <urn:p>", "/<urn:p>", " ?o }", n),
    ),
    "inverse-run": (
        "`^^^…<urn:p>`",
        lambda n: fill("SELECT * WHERE { ?s ", "^", "<urn:p> ?o }", n),
    ),
    "union-chain": (
        "`{ ?s ?p ?o } UNION …`",
        lambda n: fill("SELECT * WHERE { { ?s ?p ?o }", " UNION { ?s ?p ?o }", " }", n),
    ),
}


# --- one measurement, in a process of its own ----------------------------------------------


def measure_check(text: str) -> dict:
    from service.errors import ZigraphError
    from service.querysafety import check_query

    started = time.perf_counter()
    try:
        check_query(text)
        outcome = "passed"
    except ZigraphError as refusal:
        outcome = type(refusal).__name__
    except RecursionError:
        outcome = "RecursionError"
    return {"seconds": time.perf_counter() - started, "outcome": outcome}


def measure_post(text: str, config: dict) -> dict:
    from service import create_app

    app = create_app({"TESTING": True, "RESULT_CACHE_MB": 0, **config})
    try:
        client = app.test_client()
        headers = {"Accept": JSON_ACCEPT}
        # Evaluators and store connections start on first use; that is not the check's cost.
        client.post("/sparql", data="ASK {}", content_type="application/sparql-query")
        started = time.perf_counter()
        response = client.post(
            "/sparql", data=text.encode(), content_type="application/sparql-query", headers=headers
        )
        seconds = time.perf_counter() - started
        body = response.get_json(silent=True) or {}
        outcome = body.get("error", "") if isinstance(body, dict) else ""
        return {"seconds": seconds, "status": response.status_code, "outcome": outcome}
    finally:
        store = app.extensions.get("zigraph.store")
        if store is not None:
            store.close()


def worker(arguments: argparse.Namespace) -> int:
    text = INPUTS[arguments.input][1](arguments.size)
    if arguments.worker == "check":
        result = measure_check(text)
    elif arguments.worker == "post":
        result = measure_post(text, {"STORE_DIR": arguments.store})
    else:
        result = measure_post(text, {"ENDPOINT": arguments.endpoint})
    print(json.dumps(result))
    return 0


def kill_tree(process: subprocess.Popen) -> None:
    """Kill a worker and every process it started (evaluators included)."""
    for pid in reversed(process_tree(process.pid)):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait()


def run_worker(measure: str, name: str, size: int, cap: float, extra: list[str]) -> dict:
    """Run one measurement in a fresh process; return its result, or that it hit the cap."""
    command = [sys.executable, __file__, "--worker", measure, "--input", name, "--size", str(size)]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [*command, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        start_new_session=True,
    )
    # The cap counts from the start of the process, imports and app included (about a second).
    try:
        out, err = process.communicate(timeout=cap)
    except subprocess.TimeoutExpired:
        kill_tree(process)
        return {"capped": True}
    if process.returncode != 0 or not out.strip():
        return {"failed": (err.strip().splitlines() or ["no output"])[-1][:120]}
    return json.loads(out.strip().splitlines()[-1])


# --- the run and its report ----------------------------------------------------------------


def size_label(size: int) -> str:
    return f"{size // KIB} KiB"


def cell(result: dict | None, cap: float, with_status: bool) -> str:
    if result is None:
        return f">{cap:g} s (not run)"
    if result.get("capped"):
        return f"**>{cap:g} s**"
    if "failed" in result:
        return f"failed: {result['failed']}"
    seconds = f"{result['seconds']:.3f}" if result["seconds"] < 10 else f"{result['seconds']:.1f}"
    if result["seconds"] >= 1:
        seconds = f"**{seconds}**"
    if with_status:
        return f"{seconds} · {result['status']} {result['outcome']}".rstrip()
    return f"{seconds} · {result['outcome']}"


def table(title: str, results: dict, sizes: tuple[int, ...], cap: float, status: bool) -> str:
    lines = [f"### {title}", "", "| input | " + " | ".join(map(size_label, sizes)) + " |"]
    lines.append("| --- |" + " ---: |" * len(sizes))
    for name in results:
        cells = [cell(results[name].get(size), cap, status) for size in sizes]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def header(arguments: argparse.Namespace, elapsed: float) -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "service"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    if dirty:
        commit += " with uncommitted changes in service/"
    command = "python bench/check_cost.py " + " ".join(arguments.argv)
    return "\n".join(
        [
            "# What checking a client's query costs, on the worst inputs",
            "",
            f"Commit {commit or 'unknown'}"
            f", Python {platform.python_version()}, {os.cpu_count()} cores, load average "
            f"{os.getloadavg()[0]:.2f} at the end; the run took {elapsed / 60:.1f} min.",
            "",
            f"    {command.strip()}",
            "",
            "Seconds (bold from 1 s), each in a fresh process killed at the cap; "
            '"not run": a smaller size of the same input already hit the cap. '
            "**check** is `check_query(text)` in process and what it decided; **POST** is the "
            "wall time of `POST /sparql` (`application/sparql-query`) through Flask's test "
            "client, its status and error code.",
        ]
    )


def inputs_list(names: list[str]) -> str:
    lines = ["### The inputs", "", "| input | what it is |", "| --- | --- |"]
    lines += [f"| {name} | {INPUTS[name][0]} |" for name in names]
    return "\n".join(lines)


class OxigraphServer:
    """``oxigraph serve`` over an empty store on a free port, restarted if a query kills it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}/query"
        self.process: subprocess.Popen | None = None

    def died(self) -> bool:
        return self.process is None or self.process.poll() is not None

    def start(self) -> None:
        binary = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
        command = [binary, "serve", "--location", str(self.folder)]
        self.process = subprocess.Popen(
            [*command, "--bind", f"127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self.died():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("oxigraph serve did not start")

    def stop(self) -> None:
        if not self.died():
            kill_tree(self.process)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap", type=float, default=CAP_SECONDS, help="seconds per measurement")
    parser.add_argument("--sizes", default=",".join(str(s // KIB) for s in SIZES), help="KiB")
    parser.add_argument("--inputs", default="", help="a comma-separated subset of the inputs")
    parser.add_argument(
        "--measures", default="check,post", help="of check, post and remote (over oxigraph serve)"
    )
    parser.add_argument("--output", type=Path, help="also write the markdown report here")
    parser.add_argument("--worker", choices=("check", "post", "remote"), help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.worker:
        return worker(arguments)
    arguments.argv = sys.argv[1:] if argv is None else argv

    sys.path.insert(0, str(ROOT))
    from service import dataset
    from service.store import building

    sizes = tuple(int(s) * KIB for s in arguments.sizes.split(","))
    names = [n for n in arguments.inputs.split(",") if n] or list(INPUTS)
    measures = {m: [] for m in arguments.measures.split(",")}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="check-cost-") as work:
        store = Path(work) / "store"
        building.build_store(dataset.shipped_files(), store)
        server = OxigraphServer(Path(work) / "oxigraph")
        if "post" in measures:
            measures["post"] = ["--store", str(store)]
        if "remote" in measures:
            measures["remote"] = ["--endpoint", server.endpoint]
        try:
            results: dict[str, dict[str, dict]] = {m: {} for m in measures}
            for measure, extra in measures.items():
                for name in names:
                    results[measure][name] = {}
                    for size in sizes:
                        if measure == "remote" and server.died():
                            server.start()
                        result = run_worker(measure, name, size, arguments.cap, extra)
                        if measure == "remote" and server.died():
                            result["outcome"] = result.get("outcome", "") + " (the store died)"
                        results[measure][name][size] = result
                        print(f"{measure:6} {name:28} {size_label(size):>8}  {result}", flush=True)
                        if result.get("capped"):
                            break
        finally:
            server.stop()
    titles = {
        "check": "check: `check_query(text)` in process",
        "post": "POST /sparql over the embedded store",
        "remote": "POST /sparql over `oxigraph serve` (an empty store)",
    }
    report = [header(arguments, time.monotonic() - started)]
    for measure in measures:
        status = measure != "check"
        report.append(table(titles[measure], results[measure], sizes, arguments.cap, status))
    report.append(inputs_list(names))
    text = "\n\n".join(report) + "\n"
    print(text)
    if arguments.output:
        arguments.output.parent.mkdir(parents=True, exist_ok=True)
        arguments.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
