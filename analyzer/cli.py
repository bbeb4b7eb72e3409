"""The ``podmortem`` command line (typer). Only this module turns errors into exit codes.

Exit codes: 0 report written (even partial, with warnings); 2 input unreadable or bad usage;
1 an internal error (a bug: rerun with --debug and report it).
"""
from __future__ import annotations

import gc
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from enum import Enum
from functools import partial
from pathlib import Path
from typing import Annotated, BinaryIO, Optional

import typer

from analyzer import __version__
from analyzer.errors import PodmortemError

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2
RE_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")

app = typer.Typer(
    name="podmortem",
    help="Offline forensic analyzer for Kubernetes node memory incidents (OOM kills, evictions).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class Format(str, Enum):
    html = "html"
    md = "md"
    json = "json"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"podmortem {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def main_options(
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = None,
) -> None:
    """podmortem: explain which process the kernel killed, which pod the kubelet evicted, and why."""


def _fail(message: str, code: int = EXIT_USAGE) -> None:
    typer.echo(f"podmortem: error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def errors_to_exit(debug: bool) -> Iterator[None]:
    """Input problems become one line and exit 2; a bug one line and exit 1 (its traceback with --debug)."""
    try:
        yield
    except typer.Exit:
        raise
    except PodmortemError as err:
        _fail(str(err))
    except Exception as err:  # a bug: one line unless --debug
        if debug:
            raise
        _fail(f"internal error ({type(err).__name__}: {err}); rerun with --debug and report it", EXIT_INTERNAL)


def safe_name_part(text: str | None, fallback: str) -> str:
    """A file-name part from an untrusted string (a host name from the bundle): never a path.

    >>> safe_name_part("../../etc/passwd", "x"), safe_name_part("node-1.example", "x"), safe_name_part("", "x")
    ('etc_passwd', 'node-1.example', 'x')
    """
    cleaned = RE_UNSAFE_NAME.sub("_", text or "").strip("._-")[:64]
    return cleaned or fallback


def default_report_name(host: str | None, when: datetime | None, fmt: Format) -> str:
    stamp = (when or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"podmortem-report-{safe_name_part(host, 'node')}-{stamp}.{fmt.value}"


def _render(report, fmt: Format, to_file: bool) -> bytes | Callable[[BinaryIO], None]:
    """The report in ``fmt``; JSON for a file as a function that writes it there field by field (a
    500-pod node's report is 21 MB: it is never held whole, let alone twice)."""
    if fmt is Format.json:
        from reports.json_report import render_json, write_json

        return partial(write_json, report) if to_file else render_json(report)
    if fmt is Format.md:
        from reports.markdown import render_markdown

        return render_markdown(report).encode()
    from reports.html import render_html

    return render_html(report).encode()


def write_atomically(target: Path, data: bytes | Callable[[BinaryIO], None]) -> None:
    """Write to a temporary file beside ``target`` and rename: no half-written report keeps the name.
    ``data`` is the bytes, or a function that writes them to the file (``_render``'s JSON)."""
    fd, tmp = tempfile.mkstemp(prefix=".podmortem-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            if isinstance(data, bytes):
                out.write(data)
            else:
                data(out)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@app.command()
def analyze(
    path: Annotated[Path, typer.Argument(help="A bundle: .tar, .tar.gz/.tgz, .zip, a directory, or one pasted file (dmesg, describe, ...).")],
    format: Annotated[Format, typer.Option("--format", "-f", help="Report format.")] = Format.html,
    output: Annotated[
        Optional[str],
        typer.Option("--output", "-o", help="Report file or directory; '-' writes to stdout. Default: a new file in the current directory."),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help="A directory of bundles: processes in parallel (default: one per core).")] = None,
) -> None:
    """Analyze a bundle and write a report (exit 0 even when partial, 2 when the input is unreadable).

    PATH may be a directory of bundles (archives and bundle folders): each node gets a report in
    OUT/nodes/ and OUT/fleet.<format> compares them (analyzer/fleet.py).
    """
    with errors_to_exit(debug):
        if path.is_dir() and _analyzed_as_fleet(path, format, output, jobs):
            return
        from analyzer.decompress import start_early

        start_early(path)  # a compressed bundle is decompressed (by a child process) while the analyzer loads
        from analyzer.pipeline import analyze as run_analysis

        report = run_analysis(path)
        data = _render(report, format, to_file=output != "-")
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    target = _output_path(output, report, format)
    with errors_to_exit(debug):  # a JSON report is serialised as it is written
        try:
            write_atomically(target, data)
        except OSError as err:
            _fail(f"cannot write the report to {target}: {err.strerror or err}")
    from reports.terminal import render_summary

    typer.echo(render_summary(report, str(target)))


def _analyzed_as_fleet(path: Path, fmt: Format, output: str | None, jobs: int | None) -> bool:
    """A directory of bundles gets a fleet report; False when the directory is one bundle.
    (analyzer.fleet is imported here only: one bundle does not need its process pool and models.)"""
    from analyzer.fleet import analyze_fleet_command

    return analyze_fleet_command(path, fmt.value, output, jobs, echo=typer.echo)


def _output_path(output: str | None, report, fmt: Format) -> Path:
    when = report.bundle.collected_at or max((i.time for i in report.incidents if i.time), default=None)
    name = default_report_name(report.bundle.host, when, fmt)
    if output is None:
        return Path.cwd() / name
    target = Path(output)
    if target.is_dir():
        return target / name
    if not target.parent.is_dir():
        _fail(f"output directory {target.parent} does not exist")
    return target


@app.command()
def schema() -> None:
    """Print the JSON Schema of the report (podmortem/v1)."""
    import orjson

    from reports.json_report import report_json_schema

    sys.stdout.buffer.write(orjson.dumps(report_json_schema(), option=orjson.OPT_INDENT_2) + b"\n")


@app.command()
def diff(
    before: Annotated[Path, typer.Argument(help="The earlier bundle of the node.")],
    after: Annotated[Path, typer.Argument(help="The later bundle of the same node.")],
    format: Annotated[Format, typer.Option("--format", "-f", help="Diff format.")] = Format.md,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="File to write; default: stdout.")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
) -> None:
    """What changed between two bundles of the same node: limits, usage, new incidents, restarts (analyzer/diff.py)."""
    from analyzer.diff import diff_bundles
    from reports.diff import render_diff

    with errors_to_exit(debug):
        result = diff_bundles(before, after)
        data = render_diff(result, format.value)
    for warning in result.warnings:
        typer.echo(f"podmortem: warning: {warning}", err=True)
    if output in (None, "-"):
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    target = Path(output)
    if not target.parent.is_dir():
        _fail(f"output directory {target.parent} does not exist")
    try:
        write_atomically(target, data)
    except OSError as err:
        _fail(f"cannot write the diff to {target}: {err.strerror or err}")
    typer.echo(f"diff written to {target}")


@app.command()
def redact(
    path: Annotated[Path, typer.Argument(help="The bundle to redact (any input `analyze` reads).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The new archive (.tar.gz, .tar or .zip by its name).")],
    hostnames: Annotated[bool, typer.Option("--hostnames", help="Also replace host names with stable pseudonyms (host-1...).")] = False,
    ips: Annotated[bool, typer.Option("--ips", help="Also replace IP addresses with stable pseudonyms (10.255.0.1...).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace OUT if it exists.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
) -> None:
    """Write a copy of a bundle with secrets replaced, using the collector's rules (analyzer/redact.py)."""
    from analyzer.redact import redact_bundle

    with errors_to_exit(debug):
        result = redact_bundle(path, output, hostnames=hostnames, ips=ips, force=force)
    typer.echo(result.summary())


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []})
def collect(ctx: typer.Context) -> None:
    """Run the node collector (the same POSIX-shell script shipped in collectors/node); args pass through.

    With --cluster: on every selected node through kubectl (analyzer/cluster.py; --cluster --help).
    """
    from analyzer.collect import run_collector

    try:
        if "--cluster" in ctx.args:
            from analyzer.cluster import run_cluster_collect

            raise typer.Exit(run_cluster_collect(list(ctx.args), echo=typer.echo))
        code = run_collector(list(ctx.args))
    except PodmortemError as err:
        _fail(str(err))
    raise typer.Exit(code)


def _click_error_base() -> type[Exception]:
    """The usage-error base of the click typer runs on (vendored in typer >= 0.2x, else click)."""
    try:
        from click.exceptions import ClickException

        return ClickException
    except ImportError:
        from typer.exceptions import TyperException

        return TyperException


def main() -> None:
    """Entry point: usage errors become one line and exit 2, like every other error.

    A run builds up to a million objects that live until it ends and make no reference cycles: the
    cycle collector is off for the whole command (its passes during the imports alone cost 10 ms of
    a 0.5 s run), and the process ends without the interpreter's teardown (``_exit_now``).
    """
    gc.disable()
    try:
        code = app(standalone_mode=False)
    except typer.Exit as done:
        code = done.exit_code
    except typer.Abort:
        typer.echo("podmortem: interrupted", err=True)
        code = 130
    except _click_error_base() as err:
        typer.echo(f"podmortem: error: {err.format_message()} (see podmortem --help)", err=True)
        code = getattr(err, "exit_code", EXIT_USAGE) or EXIT_USAGE
    _exit_now(code if isinstance(code, int) else EXIT_OK)


def _exit_now(code: int) -> None:
    """Flush what was printed and end the process at once, skipping the interpreter's teardown: freeing
    every object of a run one by one costs 30 ms of a 110-pod bundle's 0.5 s, and the system frees
    the memory anyway. Nothing of ours waits for a finalizer: reports are written and renamed before,
    fleet worker pools are shut down by the command, temporary files removed. A reader that closed
    the pipe early (``| head``) is not an error.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # ValueError: the stream was closed
            pass
    os._exit(code)


if __name__ == "__main__":
    main()
