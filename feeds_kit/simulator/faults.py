"""Fault injection: a small language (``--faults``) and the deterministic injector behind it.

A plan is a comma-separated list of rules ``SCOPE:ACTION[=ARG][*COUNT][~PROBABILITY][@AFTER]``,
e.g. ``createFeed:drop-after,getFeed:throttle*5,upload:expire,report:double-gzip``.
The full grammar and every action are documented in ``docs/simulator.md``; this module is the
single place that knows them (``SCOPES``).
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass

_HTTP_FAULTS = frozenset({"throttle", "500", "503", "drop-before", "drop-after", "delay"})

#: Fault scopes and the actions each accepts.
SCOPES: dict[str, frozenset[str]] = {
    "*": _HTTP_FAULTS,
    "getFeeds": _HTTP_FAULTS,
    "createFeed": _HTTP_FAULTS,
    "getFeed": _HTTP_FAULTS,
    "cancelFeed": _HTTP_FAULTS,
    "createFeedDocument": _HTTP_FAULTS,
    "getFeedDocument": _HTTP_FAULTS,
    "getDefinitionsProductType": _HTTP_FAULTS,
    "searchDefinitionsProductTypes": _HTTP_FAULTS,
    "token": frozenset({"500", "503", "drop-before", "drop-after", "expire-early"}),
    "upload": frozenset({"expire", "signature", "500", "503", "drop-before", "drop-after",
                         "delay"}),
    "download": frozenset({"expire", "500", "503", "drop-before", "truncate"}),
    "feed": frozenset({"stuck", "fatal"}),
    "report": frozenset({"double-gzip", "windows-1252", "truncate", "corrupt"}),
}

#: Scopes whose events are SP-API operations (matched by the ``*`` scope too).
API_SCOPES = frozenset(
    s for s in SCOPES if s not in {"*", "token", "upload", "download", "feed", "report"}
)

_ALIASES = {"drop": "drop-before", "cp1252": "windows-1252"}

#: Actions that take an argument, with a check and the sentence saying what is allowed.
_ARGS = {
    "expire-early": "a number of seconds of 0 or more (default 0)",
    "delay": "a number of seconds of 0 or more (default 1)",
    "fatal": "no-report (default: a report is written)",
    "truncate": "a fraction of the body between 0 and 1 (default 0.5)",
}

_RULE = re.compile(
    r"^(?P<scope>[A-Za-z*]+):(?P<action>[A-Za-z0-9-]+)(?:=(?P<arg>[^*~@]+))?"
    r"(?P<mods>(?:[*~@][^*~@]*)*)$"
)


@dataclass(frozen=True, slots=True)
class FaultRule:
    """One rule: which events (``scope``), what happens (``action``, ``arg``), how often.

    ``count`` is how many times it fires (``None``: every time); ``probability`` the chance it
    fires on an eligible event; ``after`` how many matching events pass untouched first.
    """

    scope: str
    action: str
    arg: str | None = None
    count: int | None = 1
    probability: float = 1.0
    after: int = 0

    def __str__(self) -> str:
        text = f"{self.scope}:{self.action}"
        if self.arg is not None:
            text += f"={self.arg}"
        if self.count != 1:
            text += "*inf" if self.count is None else f"*{self.count}"
        if self.probability != 1.0:
            text += f"~{self.probability:g}"
        if self.after:
            text += f"@{self.after}"
        return text

    @property
    def seconds(self) -> float:
        """The argument as seconds (``expire-early``: default 0; ``delay``: default 1)."""
        if self.arg is not None:
            return float(self.arg)
        return 1.0 if self.action == "delay" else 0.0

    @property
    def fraction(self) -> float:
        """The argument as a fraction of a body (``truncate``)."""
        return float(self.arg) if self.arg is not None else 0.5


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """An ordered list of fault rules; immutable, so one plan can serve several simulators."""

    rules: tuple[FaultRule, ...] = ()

    def __str__(self) -> str:
        return ",".join(str(rule) for rule in self.rules)

    def __bool__(self) -> bool:
        return bool(self.rules)


def parse_faults(spec: str) -> FaultPlan:
    """Parse a ``--faults`` string; :class:`ValueError` with one sentence when it is wrong."""
    rules: list[FaultRule] = []
    for raw in spec.split(","):
        text = raw.strip()
        if not text:
            continue
        rules.append(_parse_rule(text))
    return FaultPlan(tuple(rules))


def _parse_rule(text: str) -> FaultRule:
    match = _RULE.match(text)
    if match is None:
        raise ValueError(
            f'fault rule "{text}" is not SCOPE:ACTION[=ARG][*COUNT][~PROBABILITY][@AFTER]: '
            'write e.g. "getFeed:throttle*5".'
        )
    scope = _canonical_scope(match["scope"], text)
    action = _ALIASES.get(match["action"].lower(), match["action"].lower())
    if action not in SCOPES[scope]:
        allowed = ", ".join(sorted(SCOPES[scope]))
        raise ValueError(
            f'fault action "{match["action"]}" in "{text}" does not apply to {scope}: '
            f"use one of {allowed}."
        )
    arg = match["arg"]
    if arg is not None:
        arg = _check_arg(action, arg.strip(), text)
    count: int | None = 1
    probability = 1.0
    after = 0
    for modifier in re.findall(r"[*~@][^*~@]*", match["mods"] or ""):
        kind, value = modifier[0], modifier[1:].strip()
        if kind == "*":
            count = _parse_count(value, text)
        elif kind == "~":
            probability = _parse_probability(value, text)
        else:
            after = _parse_int(value, text, "@AFTER", minimum=0)
    return FaultRule(scope, action, arg, count, probability, after)


def _canonical_scope(name: str, text: str) -> str:
    for scope in SCOPES:
        if scope.lower() == name.lower():
            return scope
    known = ", ".join(SCOPES)
    raise ValueError(f'unknown fault scope "{name}" in "{text}": use one of {known}.')


def _check_arg(action: str, arg: str, text: str) -> str:
    if action not in _ARGS:
        raise ValueError(f'fault action "{action}" in "{text}" takes no "={arg}": remove it.')
    ok = False
    if action == "fatal":
        ok = arg == "no-report"
    else:
        try:
            number = float(arg)
        except ValueError:
            number = -1.0
        ok = number >= 0 and (action != "truncate" or number <= 1)
    if not ok:
        raise ValueError(f'"{arg}" in "{text}" is not allowed: write {_ARGS[action]}.')
    return arg


def _parse_count(value: str, text: str) -> int | None:
    if value.lower() in {"inf", "all", ""}:
        return None
    return _parse_int(value, text, "*COUNT", minimum=1)


def _parse_int(value: str, text: str, what: str, *, minimum: int) -> int:
    if not value.isdigit() or int(value) < minimum:
        raise ValueError(
            f'{what} "{value}" in "{text}" is not a whole number of {minimum} or more.'
        )
    return int(value)


def _parse_probability(value: str, text: str) -> float:
    try:
        probability = float(value.rstrip("%")) / (100 if value.endswith("%") else 1)
    except ValueError:
        probability = -1.0
    if not 0 < probability <= 1:
        raise ValueError(
            f'~PROBABILITY "{value}" in "{text}" is not between 0 and 1: write e.g. ~0.3 or ~30%.'
        )
    return probability


class FaultInjector:
    """The run-time state of a plan: which rule fires on the next event of a scope.

    Deterministic: counts are exact and probabilities are drawn from a seeded generator.
    Thread-safe.
    """

    def __init__(self, plan: FaultPlan | None, rng: random.Random) -> None:
        self._rules = list(plan.rules) if plan else []
        self._seen = [0] * len(self._rules)
        self._fired = [0] * len(self._rules)
        self._rng = rng
        self._lock = threading.Lock()

    def draw(self, scope: str) -> FaultRule | None:
        """Count an event of ``scope`` and return the rule that fires on it, if any."""
        if not self._rules:
            return None
        chosen: FaultRule | None = None
        with self._lock:
            for index, rule in enumerate(self._rules):
                if not (rule.scope == scope or (rule.scope == "*" and scope in API_SCOPES)):
                    continue
                self._seen[index] += 1
                if chosen is not None or self._seen[index] <= rule.after:
                    continue
                if rule.count is not None and self._fired[index] >= rule.count:
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                self._fired[index] += 1
                chosen = rule
        return chosen

    def remaining(self) -> list[tuple[str, int | None]]:
        """Each rule with how many times it may still fire (``None``: unlimited)."""
        with self._lock:
            return [
                (str(rule), None if rule.count is None else rule.count - self._fired[i])
                for i, rule in enumerate(self._rules)
            ]
