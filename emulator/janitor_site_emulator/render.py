"""Template rendering for the emulator with MiniJinja (API v1 §5.10 and §6).

:class:`TemplateSet` renders the ``*.html`` files of one directory. One MiniJinja environment
is shared by all threads: MiniJinja itself serialises renders on an internal mutex, so a Python
lock around every use of the environment costs nothing and rules out lock-order deadlocks
between that mutex and the GIL. Compiled templates are cached and dropped as soon as a file the
engine has read changes (checked by ``stat`` before each render).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minijinja import Environment, TemplateError, pass_state, safe

from janitor_site_emulator import template_helpers as helpers

if TYPE_CHECKING:
    from minijinja._lowlevel import State

__all__ = [
    "TEMPLATE_NOT_FOUND",
    "TEMPLATE_RENDER_ERROR",
    "TEMPLATE_SYNTAX_ERROR",
    "TemplateFailure",
    "TemplateSet",
]

TEMPLATE_NOT_FOUND = "template_not_found"
TEMPLATE_SYNTAX_ERROR = "template_syntax_error"
TEMPLATE_RENDER_ERROR = "template_render_error"

#: MiniJinja error kinds raised while parsing a template.
_SYNTAX_KINDS = frozenset({"SyntaxError", "BadEscape"})
#: How MiniJinja spells those kinds in error descriptions.
_SYNTAX_DESCRIPTIONS = ("syntax error:", "bad string escape:")
#: A cause in MiniJinja's full error description (errors of included templates are chained).
_CAUSE_LINE = re.compile(r"^caused by: (.*)$", re.MULTILINE)
_LOCATED_MESSAGE = re.compile(r"(.*) \(in (.*):(\d+)\)", re.DOTALL)
#: The marker line under the failing source line: ``     i <col spaces>^^^ kind``.
_CARET_LINE = re.compile(r"^     i ( *)\^", re.MULTILINE)

FileSignature = tuple[int, int, int]


class TemplateFailure(Exception):
    """A template could not be found, parsed or rendered; maps to a v1 ``template_*`` error.

    ``template`` is the template where the error arose (maybe an included or parent one);
    ``line`` and ``column`` are 1-based, ``None`` when the engine does not know them.
    """

    def __init__(
        self,
        code: str,
        template: str,
        message: str,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.template = template
        self.line = line
        self.column = column
        self.message = message

    @classmethod
    def not_found(cls, name: str) -> TemplateFailure:
        return cls(TEMPLATE_NOT_FOUND, name, f"No template named {name!r}")

    def details(self) -> dict[str, Any]:
        """The v1 ``details`` object of this error (§2.3)."""
        if self.code == TEMPLATE_NOT_FOUND:
            return {"template": self.template}
        return {
            "template": self.template,
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }


class _CallbackError(Exception):
    """A filter or function refused its arguments; remembers the template it was called from."""

    def __init__(self, template: str, message: str) -> None:
        super().__init__(message)
        self.template = template
        self.message = message


def _is_valid_name(name: str) -> bool:
    """Whether ``name`` is a relative ``/``-separated ``.html`` path without ``..`` or ``.``."""
    return (
        name.endswith(".html")
        and ".." not in name
        and "\\" not in name
        and "\x00" not in name
        and all(part not in ("", ".") for part in name.split("/"))
    )


class _Loader:
    """MiniJinja loader reading ``directory``; remembers what it read to detect changes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.signatures: dict[str, FileSignature | None] = {}

    def __call__(self, name: str) -> str | None:
        if not _is_valid_name(name):
            return None
        try:
            with open(self.directory / name, "rb") as file:
                info = os.fstat(file.fileno())
                if not stat.S_ISREG(info.st_mode):
                    return None
                source = file.read()
        except OSError:
            return None
        self.signatures[name] = _signature(info)
        return source.decode("utf-8", errors="replace")

    def changed(self) -> bool:
        """Whether any file read since the last :meth:`forget` changed or disappeared."""
        return any(
            _file_signature(self.directory / name) != signature
            for name, signature in self.signatures.items()
        )

    def forget(self) -> None:
        self.signatures.clear()


def _signature(info: os.stat_result) -> FileSignature:
    return (info.st_mtime_ns, info.st_size, info.st_ino)


def _file_signature(path: Path) -> FileSignature | None:
    try:
        return _signature(os.stat(path))
    except OSError:
        return None


class TemplateSet:
    """The templates of one directory, rendered with the v1 filters and functions."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._loader = _Loader(self.directory)
        self._env = _new_environment(self._loader)

    def names(self) -> list[str]:
        """Every renderable ``*.html`` file, relative with ``/``, in code point order."""
        return sorted(_walk(self.directory, ""))

    def version(self) -> bytes:
        """A digest of every template's name and source: it changes whenever one does (§5.10)."""
        digest = hashlib.sha256()
        for name in self.names():
            try:
                source = (self.directory / name).read_bytes()
            except OSError:
                continue
            digest.update(b"%d:%s%d:" % (len(name), name.encode(), len(source)) + source)
        return digest.digest()

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        """Render ``name`` with ``context`` as its top-level variables; raise TemplateFailure."""
        if not _is_valid_name(name) or not (self.directory / name).is_file():
            raise TemplateFailure.not_found(name)
        variables = {key: _sorted_keys(context[key]) for key in sorted(context)}
        with self._lock:
            if self._loader.changed():
                self._env.clear_templates()
                self._loader.forget()
            try:
                return self._env.render_template(name, **variables)
            except TemplateError as error:
                raise _failure_from_engine(error, name) from None
            except _CallbackError as error:
                raise TemplateFailure(
                    TEMPLATE_RENDER_ERROR, error.template, error.message
                ) from None


def _walk(directory: Path, prefix: str) -> list[str]:
    """Relative names of the valid ``*.html`` regular files below ``directory``."""
    found: list[str] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return found
    for entry in entries:
        relative = prefix + entry.name
        if entry.is_dir(follow_symlinks=False):
            found.extend(_walk(Path(entry.path), relative + "/"))
        elif entry.is_file() and _is_valid_name(relative):
            found.append(relative)
    return found


def _sorted_keys(value: Any) -> Any:
    """A copy of a JSON value whose objects list their keys in code point order."""
    if isinstance(value, dict):
        return {key: _sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(item) for item in value]
    return value


# --- engine errors ----------------------------------------------------------------------------


def _failure_from_engine(error: TemplateError, requested: str) -> TemplateFailure:
    """Map a MiniJinja error to the v1 error of the template where it arose."""
    if error.kind == "TemplateNotFound" and error.name is None:
        return TemplateFailure.not_found(requested)
    cause = _innermost_cause(str(error))
    if cause is not None:
        return cause
    code = TEMPLATE_SYNTAX_ERROR if error.kind in _SYNTAX_KINDS else TEMPLATE_RENDER_ERROR
    line = error.line or None
    return TemplateFailure(
        code,
        error.name or requested,
        _strip_location(error.message, error.name, error.line),
        line=line,
        column=_column(error) if line is not None else None,
    )


def _strip_location(message: str, template: str | None, line: int | None) -> str:
    """Drop MiniJinja's `` (in name:line)`` suffix, reported in ``details`` instead."""
    suffix = f" (in {template}:{line or 0})"
    if template is not None and message.endswith(suffix):
        return message[: -len(suffix)]
    return message


def _column(error: TemplateError) -> int | None:
    """1-based column (in code points) of the start of the error's span."""
    source, span = error.template_source, error.range
    if source is None or span is None:
        return None
    before = source.encode("utf-8")[: span[0]].decode("utf-8", errors="ignore")
    return len(before) - before.rfind("\n")


def _innermost_cause(description: str) -> TemplateFailure | None:
    """The deepest chained cause (an error inside an included template), if any.

    MiniJinja wraps errors of included templates ("could not render include") and the Python
    binding exposes the chain only as text: ``caused by: <message> (in <name>:<line>)``,
    followed by a source excerpt whose marker line gives the column.
    """
    causes = list(_CAUSE_LINE.finditer(description))
    if not causes:
        return None
    last = causes[-1]
    located = _LOCATED_MESSAGE.fullmatch(last.group(1))
    if located is None:
        return None
    message, template, line_text = located.groups()
    line = int(line_text) or None
    caret = _CARET_LINE.search(description, last.end())
    column = len(caret.group(1)) + 1 if caret is not None and line is not None else None
    code = (
        TEMPLATE_SYNTAX_ERROR if message.startswith(_SYNTAX_DESCRIPTIONS) else TEMPLATE_RENDER_ERROR
    )
    return TemplateFailure(code, template, message, line=line, column=column)


# --- environment -----------------------------------------------------------------------------


def _new_environment(loader: Callable[[str], str | None]) -> Environment:
    """A MiniJinja environment configured as §6.2 asks, with the §6.3–6.4 helpers."""
    env = Environment(
        loader=loader,
        auto_escape_callback=_always_html,
        finalizer=_finalize,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Undefined values fail when printed or iterated, are false in conditions and work with
    # ``is defined`` and ``default`` (the stubs do not list this mode).
    env.undefined_behavior = "semi_strict"  # type: ignore[assignment]
    for name, (params, function) in _FILTERS.items():
        env.add_filter(name, _adapt("filter", name, function, params))
    for name, (params, function) in _FUNCTIONS.items():
        env.add_global(name, _adapt("function", name, function, params))
    return env


def _always_html(name: str) -> str:
    """Autoescape every template as HTML (all names end in ``.html``)."""
    return "html"


def _finalize(value: Any) -> Any:
    """Print ``null`` as nothing and booleans as ``true``/``false`` (§6.2)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return NotImplemented


def _adapt(
    kind: str, name: str, function: Callable[..., Any], params: frozenset[str]
) -> Callable[..., Any]:
    """Wrap a helper: named arguments only, failures become :class:`_CallbackError`."""
    positional = 1 if kind == "filter" else 0

    def call(state: State, *args: Any, **kwargs: Any) -> Any:
        try:
            _check_arguments(args, kwargs, positional, params)
            return function(*args, **kwargs)
        except Exception as exc:  # every failure of a helper is a render error
            raise _CallbackError(state.name, f"{kind} `{name}`: {exc}") from exc

    return pass_state(call)


def _check_arguments(
    args: tuple[Any, ...], kwargs: Mapping[str, Any], positional: int, params: frozenset[str]
) -> None:
    if len(args) != positional:
        raise helpers.HelperError("takes named arguments only")
    unknown = sorted(set(kwargs) - params)
    if unknown:
        raise helpers.HelperError(f"unexpected argument `{unknown[0]}`")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _duration_filter(value: Any) -> Any:
    return helpers.format_duration(value) if helpers.is_number(value) else value


def _format_timestamp_function(timestamp: Any = None) -> Any:
    return helpers.format_timestamp(helpers.require_str(timestamp, "timestamp"))


_Helper = tuple[frozenset[str], Callable[..., Any]]

_NO_PARAMS: frozenset[str] = frozenset()

_FILTERS: dict[str, _Helper] = {
    "basename": (_NO_PARAMS, helpers.basename),
    "safe_url": (_NO_PARAMS, helpers.safe_url),
    "timeago": (_NO_PARAMS, lambda value: helpers.timeago(value, _now())),
    "duration": (_NO_PARAMS, _duration_filter),
    "summarize": (frozenset({"length"}), helpers.summarize),
    "timestamp": (_NO_PARAMS, helpers.format_timestamp),
    "tojson": (frozenset({"indent"}), lambda value, indent=0: safe(helpers.to_json(value, indent))),
}

_FUNCTIONS: dict[str, _Helper] = {
    "format_duration": (
        frozenset({"duration"}),
        lambda duration=None: helpers.format_duration(duration),
    ),
    "format_timestamp": (frozenset({"timestamp"}), _format_timestamp_function),
    "classify_result_code": (
        frozenset({"result_code", "transient"}),
        lambda result_code=None, transient=None: helpers.classify_result_code(
            result_code, transient
        ),
    ),
    "url_for": (frozenset({"endpoint"}), lambda endpoint=None: helpers.url_for(endpoint)),
    "utcnow": (_NO_PARAMS, lambda: helpers.format_utc(_now())),
    "enumerate": (
        frozenset({"array", "start"}),
        lambda array=None, start=0: helpers.enumerate_array(array, start),
    ),
    "worker_link_is_global": (
        frozenset({"url"}),
        lambda url=None: helpers.worker_link_is_global(url),
    ),
    "get_flashed_messages": (_NO_PARAMS, helpers.get_flashed_messages),
}
