"""The rule, applied to one case: the API answers what Django answers, or refuses before I/O.

For every terminal of a case, with the replica's (Django's) answer as the oracle:

* Django answered → the API gives the same answer (rows in order when the ordering is total;
  as a multiset otherwise; a slice of an unordered set: as many rows, all from the unsliced
  set), within its request budget (:mod:`.budget`); or it raises ``NotSupportedError`` /
  ``FieldError`` naming the model and the operation, having sent no request;
* Django raised → the API raises the same kind of error (``DoesNotExist``,
  ``MultipleObjectsReturned``, ``FieldError``…), before any request unless the error depends on
  the data (``DoesNotExist``, ``MultipleObjectsReturned``, ``IndexError``) or Django read first
  too; it may raise it earlier (validating eagerly), or refuse instead when the error depends
  on the data, or when it refuses what comes before the point where Django raises;
* sync and async give the same outcome with the same number of requests, and the async path
  never calls the sync client on the event loop.

Anything else is a :class:`Failure`, and a failure fails the test (``JANITOR_CONFORMANCE_SURVEY=1``
collects them instead, to map a new class of divergence).
"""

from __future__ import annotations

import collections
import dataclasses
import os
import time
from collections.abc import Callable
from typing import Any

import django
from django.test.utils import override_settings

from tests.replicas.ordering import is_total

from .budget import Budget
from .cases import (
    Case,
    Count,
    Evaluate,
    Exists,
    First,
    Get,
    InBulk,
    Index,
    Iterate,
    Last,
    Latest,
    PrefetchRelated,
    PrefetchSpec,
    SetOp,
    Terminal,
    Window,
)
from .evaluate import (
    DATA_KINDS,
    REFUSALS,
    Outcome,
    Raised,
    aevaluate,
    async_oracle_case,
    evaluate,
    without_slices,
)
from .replica import ReplicaSide
from .sides import ApiSide, apply_step


@dataclasses.dataclass(frozen=True)
class Failure:
    """One way a case broke the rule."""

    #: ``sync``, ``async`` or ``sync/async``.
    where: str
    #: ``answer`` (different answer or exception), ``raised`` (an exception Django does not
    #: raise, not a refusal), ``late`` (refused or raised Django's error after a request),
    #: ``message`` (a refusal not naming the model), ``budget`` (more requests than promised),
    #: ``requests`` (sync and async sent different numbers), ``sync-on-loop``, ``build``
    #: (requests while chaining), ``sql`` (the API side ran SQL).
    what: str
    terminal: Terminal | None
    api: Any
    oracle: Any

    def __str__(self) -> str:
        return (
            f"[{self.where}] {self.what} at {self.terminal!r}:\n"
            f"    API:    {_short(self.api)}\n    Django: {_short(self.oracle)}"
        )


def _short(data: Any, limit: int = 1500) -> str:
    text = repr(data)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


@dataclasses.dataclass
class Hit:
    """A registered divergence met by the run."""

    count: int = 0
    example: Case | None = None
    failure: str = ""


@dataclasses.dataclass
class Report:
    """What the run saw, for the terminal summary."""

    cases: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    #: Cases checked, repeats included (what hypothesis drew).
    drawn: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    seen: set[str] = dataclasses.field(default_factory=set)
    seconds: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    refusals: dict[tuple[str, str, str], Hit] = dataclasses.field(default_factory=dict)
    passed: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    #: Survey mode: the failures, by signature.
    surveyed: dict[str, Hit] = dataclasses.field(default_factory=dict)


REPORT = Report()
#: ``JANITOR_CONFORMANCE_SURVEY=1``: record failures instead of failing (to map divergences;
#: never in CI).
SURVEY = bool(os.environ.get("JANITOR_CONFORMANCE_SURVEY"))


def _signature(case: Case, failure: Failure) -> str:
    steps = ",".join(sorted({type(step).__name__ for step in case.steps}))
    terminal = type(failure.terminal).__name__
    return f"{case.model} {failure.where} {failure.what} {terminal} [{steps}]"


def edges_by_pk(outcome: Outcome) -> bool:
    """Whether Django's ``first()``/``last()`` sort this queryset by pk when it is unordered
    (Django 6.1 leaves one whose ordering ``order_by()`` cleared unordered: any row will do)."""
    assert outcome.queryset is not None
    return django.VERSION < (6, 1) or bool(outcome.queryset.query.default_ordering)


def ordering(outcome: Outcome) -> tuple[bool, bool, bool]:
    """(ordered, total, sliced) of the replica's final queryset."""
    queryset = outcome.queryset
    assert queryset is not None
    query = queryset.query
    terms = (
        query.order_by
        if query.order_by or not query.default_ordering
        else (queryset.model._meta.ordering)
    )
    ordered = bool(queryset.ordered)
    return ordered, ordered and is_total(queryset.model, list(terms)), bool(query.is_sliced)


class Checker:
    """Runs cases on both sides and applies the rule."""

    def __init__(self, call_async: Callable[..., Any]) -> None:
        self.api = ApiSide()
        self.replica = ReplicaSide()
        self.call_async = call_async

    def run(self, case: Case) -> tuple[Outcome, Outcome, Outcome, Outcome]:
        """(Django sync, Django for the async calls, API sync, API async)."""
        with override_settings(JANITOR_SITE_PAGE_SIZE=case.page_size):
            oracle = evaluate(self.replica, case)
            async_case = async_oracle_case(case)
            aoracle = oracle if async_case == case else evaluate(self.replica, async_case)
            api_sync = evaluate(self.api, case)
            api_async = self.call_async(aevaluate, self.api, case)
        return oracle, aoracle, api_sync, api_async

    def failures(self, case: Case) -> tuple[list[Failure], Raised | None]:
        oracle, aoracle, api_sync, api_async = self.run(case)
        found, refused = self.compare("sync", case, api_sync, oracle)
        afound, arefused = self.compare("async", case, api_async, aoracle)
        found += afound
        if aoracle is oracle:
            found += self.pair(case, api_sync, api_async)
        if api_async.sync_on_loop:
            found.append(Failure("async", "sync-on-loop", None, api_async.sync_on_loop, 0))
        return found, refused or arefused

    # The rule --------------------------------------------------------------------------------

    def compare(
        self, where: str, case: Case, api: Outcome, oracle: Outcome
    ) -> tuple[list[Failure], Raised | None]:
        """The rule for one side's outcome against Django's: (failures, the refusal if any)."""
        found: list[Failure] = []
        if api.build_sent:
            found.append(Failure(where, "build", None, api.build_sent, 0))
        if api.sql:
            found.append(Failure(where, "sql", None, api.sql, 0))
        promises = Budget(case, oracle).promises() if oracle.queryset is not None else []
        found += self._answers(where, case, api, oracle, promises)
        failure, refused = self._errors(where, case, api, oracle, promises)
        return found + ([failure] if failure else []), refused

    def _answers(
        self, where: str, case: Case, api: Outcome, oracle: Outcome, promises: list[int | None]
    ) -> list[Failure]:
        """The terminals both sides answered: the same answers, within the budget."""
        found = []
        superset: list[Any] | None = None
        for index in range(min(_answered(api), _answered(oracle))):
            terminal = case.terminals[index]
            if superset is None and self._needs_superset(oracle, terminal):
                superset = self._superset(case)
            mine, theirs = api.answers[index], oracle.answers[index]
            promise = promises[index] if index < len(promises) else None
            if not self.same(oracle, terminal, mine, theirs, superset):
                found.append(Failure(where, "answer", terminal, mine, theirs))
            elif promise is not None and api.sent[index] > promise:
                found.append(Failure(where, "budget", terminal, api.sent[index], promise))
        return found

    def _errors(
        self, where: str, case: Case, api: Outcome, oracle: Outcome, promises: list[int | None]
    ) -> tuple[Failure | None, Raised | None]:
        """Where a side raised: the same kind of error as Django, or a refusal before I/O."""
        expected, got = oracle.raised, api.raised
        if got is None and expected is None:
            return None, None
        never = (2, 0)
        at_api = got.position if got else never
        at_oracle = expected.position if expected else never
        terminal = _terminal(case, min(at_api, at_oracle))
        if got is not None and expected is not None and issubclass(got.type, expected.kind):
            data = issubclass(expected.kind, DATA_KINDS)
            if at_api < at_oracle and not got.sent:
                return None, None  # Django's own error, raised earlier (eager validation)
            if at_api == at_oracle:
                if got.sent and not data and not expected.queries:
                    return Failure(where, "late", terminal, (got, got.sent), expected), None
                promise = (
                    promises[at_api[1]] if at_api[0] == 1 and at_api[1] < len(promises) else None
                )
                if data and promise is not None and got.sent > promise:
                    return Failure(where, "budget", terminal, got.sent, promise), None
                return None, None  # (not data: Django read first too, e.g. a bad prefetch)
        if got is not None and self.refusal(case, got):
            if at_api < at_oracle:
                return None, got
            if at_api == at_oracle:
                assert expected is not None
                if issubclass(expected.kind, DATA_KINDS) or self.refused_before(case, at_api):
                    return None, got
        if got is None or at_api > at_oracle:
            return Failure(where, "answer", terminal, "an answer", expected), None
        refusing = issubclass(got.type, REFUSALS)
        what = ("late" if got.sent else "message") if refusing else "raised"
        if expected is not None and at_api == at_oracle:
            what = "late" if refusing and got.sent else "answer"
        return Failure(where, what, terminal, (got, got.sent), expected or "an answer"), None

    def refusal(self, case: Case, raised: Raised) -> bool:
        """A refusal: ``NotSupportedError`` / ``FieldError`` naming a model of the case and one of
        its operations (a field, a lookup, a method), no request sent."""
        names = [
            case.model,
            *(
                lookup.model
                for step in case.all_steps()
                if isinstance(step, PrefetchRelated)
                for lookup in step.lookups
                if isinstance(lookup, PrefetchSpec)
            ),
        ]
        return (
            issubclass(raised.type, REFUSALS)
            and not raised.sent
            and any(name in raised.message for name in names)
            and any(word in raised.message for word in operations(case))
        )

    def refused_before(self, case: Case, position: tuple[int, int]) -> bool:
        """Whether the API refuses what comes before ``position`` already (a deferred refusal of
        an earlier step is no divergence where Django raises at ``position``)."""
        if position[0] == 0 and isinstance(case.steps[position[1]], SetOp):
            return self._operand_refused_first(case, case.steps[position[1]])  # type: ignore[arg-type]
        steps = case.steps[: position[1]] if position[0] == 0 else case.steps
        probe = dataclasses.replace(case, steps=steps, terminals=(Evaluate(),))
        with override_settings(JANITOR_SITE_PAGE_SIZE=case.page_size):
            raised = evaluate(self.api, probe).raised
        return raised is not None and self.refusal(case, raised)

    def _operand_refused_first(self, case: Case, step: SetOp) -> bool:
        """Whether the API refuses a step of the operand before the one Django rejects."""

        def first_raise(side: Any) -> int | None:
            queryset = side.manager(case.model, case.manager)
            for index, inner in enumerate(step.other):
                try:
                    queryset = apply_step(side, case, queryset, inner, True)
                except Exception:
                    return index
            return None

        mine, theirs = first_raise(self.api), first_raise(self.replica)
        return mine is not None and (theirs is None or mine < theirs)

    def pair(self, case: Case, sync: Outcome, async_: Outcome) -> list[Failure]:
        """Sync and async: the same outcome, the same number of requests."""

        def shape(answer: Any) -> Any:
            if isinstance(answer, Raised):
                return ("raised", answer.kind, answer.position, answer.sent)
            return answer

        found = []
        if [shape(a) for a in sync.answers] != [shape(a) for a in async_.answers]:
            found.append(Failure("sync/async", "answer", None, async_.answers, sync.answers))
        if sync.sent != async_.sent or sync.build_sent != async_.build_sent:
            found.append(Failure("sync/async", "requests", None, async_.sent, sync.sent))
        return found

    # Comparing answers -----------------------------------------------------------------------

    def _needs_superset(self, oracle: Outcome, terminal: Terminal) -> bool:
        ordered, total, _ = ordering(oracle)
        if isinstance(terminal, (First, Last)):
            return (ordered and not total) or (not ordered and not edges_by_pk(oracle))
        return isinstance(terminal, (Evaluate, Iterate, Index, Window)) and not total

    def _superset(self, case: Case) -> list[Any]:
        outcome = evaluate(self.replica, without_slices(case))
        answer = outcome.answers[0] if outcome.answers else None
        return answer if isinstance(answer, list) else []

    def same(
        self, oracle: Outcome, terminal: Terminal, got: Any, expected: Any, superset: Any
    ) -> bool:
        ordered, total, sliced = ordering(oracle)
        sliced = sliced or isinstance(terminal, Window)
        if isinstance(terminal, (Count, Exists, Get, InBulk, Latest)):
            return bool(got == expected)
        if isinstance(terminal, (First, Last)) and (total or (not ordered and edges_by_pk(oracle))):
            return bool(got == expected)
        if isinstance(terminal, (First, Last, Index)):
            if total:
                return bool(got == expected)
            return (got is None) == (expected is None) and (got is None or got in superset)
        if total:
            return bool(got == expected)
        if not sliced:
            return collections.Counter(got) == collections.Counter(expected)
        bag = collections.Counter(superset or [])
        return len(got) == len(expected) and not collections.Counter(got) - bag


#: Method names per step and terminal, as a refusal may name them.
_METHODS = {
    "Filter": ("filter", "exclude", "OR", "lookup"),
    "Search": ("search", "q"),
    "OrderBy": ("order", "sort"),
    "Reverse": ("reverse", "order"),
    "Slice": ("slic",),
    "Values": ("values",),
    "ValuesList": ("values",),
    "Distinct": ("distinct",),
    "SetOp": ("union", "intersection", "difference"),
    "SelectRelated": ("select_related",),
    "PrefetchRelated": ("prefetch",),
    "Get": ("get",),
    "First": ("first", "order"),
    "Last": ("last", "order"),
    "InBulk": ("in_bulk",),
    "Iterate": ("iterator", "chunk"),
    "Latest": ("latest", "earliest", "order"),
}


def operations(case: Case) -> set[str]:
    """Words a refusal of ``case`` may name its operation by: field names and lookups of its
    filters, orderings and fields, and the methods it calls."""
    words: set[str] = {"query"}  # "a query without filter(campaign=...)": the whole queryset
    for path, _, _ in case.leaves(top_level=False):
        words.update(path.split("__"))
        if path.endswith("__icontains"):  # an icontains OR is the endpoint's search q
            words.update(("search", "q"))
    for step in case.all_steps():
        words.update(_METHODS.get(type(step).__name__, ()))
        words.update(getattr(key, "field", "") for key in getattr(step, "keys", ()))
        words.update(getattr(step, "fields", None) or ())
        for lookup in getattr(step, "lookups", ()):
            words.add(lookup if isinstance(lookup, str) else lookup.lookup)
    for terminal in case.terminals:
        words.update(_METHODS.get(type(terminal).__name__, ()))
        words.update(name.lstrip("-") for name in getattr(terminal, "fields", ()))
        words.update(name.split("__")[0] for name, _ in getattr(terminal, "kwargs", ()))
    return {word for word in words if word}


def _answered(outcome: Outcome) -> int:
    """How many terminals answered (without raising)."""
    raised = outcome.raised
    return len(outcome.sent) - (raised is not None and raised.position[0] == 1)


def _terminal(case: Case, position: tuple[int, int]) -> Any:
    if position[0] == 0:
        return case.steps[position[1]]
    return case.terminals[position[1]] if position[1] < len(case.terminals) else None


def timed(model: str, check: Callable[[], None]) -> None:
    started = time.monotonic()
    try:
        check()
    finally:
        REPORT.seconds[model] += time.monotonic() - started


def verify(checker: Checker, case: Case) -> None:
    """Apply the rule to ``case``: pass (answered alike, or refused), or fail."""
    failures, refused = checker.failures(case)
    REPORT.drawn[case.model] += 1
    key = repr(case)
    new = key not in REPORT.seen
    REPORT.seen.add(key)
    if new:
        REPORT.cases[case.model] += 1
    if not failures:
        if refused is not None and new:
            hit = REPORT.refusals.setdefault(
                (case.model, refused.type.__name__, refused.message), Hit(example=case)
            )
            hit.count += 1
        elif new:
            REPORT.passed[case.model] += 1
        return
    details = "\n".join(str(failure) for failure in failures)
    if not SURVEY:
        raise AssertionError(f"{case!r}\nbreaks the rule:\n{details}")
    signature = " | ".join(sorted({_signature(case, f) for f in failures}))
    hit = REPORT.surveyed.setdefault(signature, Hit(example=case, failure=details))
    hit.count += 1
    if len(repr(case)) < len(repr(hit.example)):
        hit.example, hit.failure = case, details
