"""Fault injection for the inference steps: off unless HOLDFAST_INJECT_FAULTS is set.

Syntax: comma-separated `step.kind=rate`, e.g.
`embed.transient=0.3,embed.permanent=0.01,recommend.transient=0.1`.

- step: embed_products (alias embed), vectorize_customers (vectors),
  assign_segments (segments), recommend.
- kind: `transient` fails a model call with probability `rate` per attempt
  (the retry policy retries it); `permanent` makes each record it hits fail on
  every attempt with a PermanentError (the record becomes a dead letter, its
  batch neighbours are isolated and succeed).
- kind `crash` (embed_products only): the encoder's child process kills itself
  (SIGKILL, as the OOM killer would) at a model call with probability `rate`,
  drawn per call and per child (a restarted child draws anew); rate 1 kills
  every child at its first call.
- rate: a number in [0, 1].

Draws are deterministic: sha256 of (seed, step, kind, record key(s), attempt),
with the seed from HOLDFAST_FAULT_SEED (default "0"). The same records fail
the same way in every run while the same spec and seed are set; remove the
spec (or change the seed) and they recover.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from holdfast import environment
from holdfast.application.resilience import PermanentError

ENV_SPEC = environment.INJECT_FAULTS
ENV_SEED = environment.FAULT_SEED
KINDS = ("transient", "permanent", "crash")
# the steps whose model runs in a child process a `crash` can kill
CRASH_STEPS = frozenset({"embed_products"})
STEP_ALIASES = {
    "embed": "embed_products",
    "embed_products": "embed_products",
    "vectors": "vectorize_customers",
    "vectorize_customers": "vectorize_customers",
    "segments": "assign_segments",
    "assign_segments": "assign_segments",
    "recommend": "recommend",
}


class FaultSpecError(ValueError):
    """HOLDFAST_INJECT_FAULTS does not follow `step.kind=rate[,...]`."""


class InjectedTransientFault(Exception):
    """A simulated model-call failure that a retry can get past."""


class InjectedPermanentFault(PermanentError):
    """A simulated record the model will never accept."""


def canonical_step(name: str) -> str:
    """The step name for `name` or one of its aliases; ValueError otherwise."""
    step = STEP_ALIASES.get(name.strip().lower())
    if step is None:
        known = ", ".join(sorted(STEP_ALIASES))
        raise ValueError(f"unknown step {name!r} (known: {known})")
    return step


def _draw(*parts: object) -> float:
    """A uniform number in [0, 1) fixed by `parts`."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class StepFaults:
    """The faults injected into one step's model calls."""

    step: str
    transient_rate: float = 0.0
    permanent_rate: float = 0.0
    seed: str = "0"
    crash_rate: float = 0.0

    def crashes(self, texts: Sequence[str], child: int) -> bool:
        """Whether the model process `child` (0 for the first, 1 after one
        restart, ...) dies at a call carrying `texts` (the `crash` kind)."""
        if self.crash_rate <= 0:
            return False
        call = hashlib.sha256("\n".join(texts).encode()).hexdigest()
        return _draw(self.seed, self.step, "crash", call, child) < self.crash_rate

    def is_permanently_faulty(self, key: str) -> bool:
        """Whether the record `key` is one the permanent fault hits."""
        return (
            self.permanent_rate > 0
            and _draw(self.seed, self.step, "permanent", key) < self.permanent_rate
        )

    def check(self, keys: Sequence[str], attempt: int) -> None:
        """Raise the fault (if any) for a call carrying `keys` at `attempt` (1-based)."""
        for key in keys:
            if self.is_permanently_faulty(key):
                raise InjectedPermanentFault(
                    f"injected permanent fault ({ENV_SPEC}) in {self.step} for record {key}"
                )
        if self.transient_rate > 0:
            call = hashlib.sha256("\n".join(keys).encode()).hexdigest()
            if _draw(self.seed, self.step, "transient", call, attempt) < self.transient_rate:
                raise InjectedTransientFault(
                    f"injected transient fault ({ENV_SPEC}) in {self.step}, attempt {attempt}"
                )


@dataclass(frozen=True)
class FaultPlan:
    """Every step's faults, parsed from the spec."""

    rates: Mapping[tuple[str, str], float]
    seed: str = "0"

    @classmethod
    def parse(cls, spec: str, seed: str = "0") -> FaultPlan:
        """Parse `step.kind=rate[,...]`; FaultSpecError names the bad entry."""
        rates: dict[tuple[str, str], float] = {}
        for entry in (e.strip() for e in spec.split(",")):
            if not entry:
                continue
            target, sep, rate_text = entry.partition("=")
            step_name, dot, kind = target.strip().rpartition(".")
            if not sep or not dot:
                raise FaultSpecError(f"{ENV_SPEC}: {entry!r} is not step.kind=rate")
            try:
                step = canonical_step(step_name)
            except ValueError as error:
                raise FaultSpecError(f"{ENV_SPEC}: {entry!r}: {error}") from None
            kind = kind.strip().lower()
            if kind not in KINDS:
                raise FaultSpecError(
                    f"{ENV_SPEC}: {entry!r}: kind must be transient, permanent or crash"
                )
            if kind == "crash" and step not in CRASH_STEPS:
                raise FaultSpecError(
                    f"{ENV_SPEC}: {entry!r}: only {', '.join(sorted(CRASH_STEPS))} runs its "
                    "model in a child process that a crash can kill"
                )
            try:
                rate = float(rate_text)
            except ValueError:
                rate = math.nan
            if not (0.0 <= rate <= 1.0):
                raise FaultSpecError(f"{ENV_SPEC}: {entry!r}: rate must be a number in [0, 1]")
            rates[(step, kind)] = rate
        return cls(rates=rates, seed=seed)

    @classmethod
    def from_env(cls, variables: Mapping[str, str] | None = None) -> FaultPlan | None:
        """The plan in the process's environment (or in `variables`), or None when
        injection is off (holdfast.environment.fault_injection)."""
        injection = environment.fault_injection(variables)
        if injection is None:
            return None
        return cls.parse(injection.spec, seed=injection.seed)

    def for_step(self, step: str) -> StepFaults | None:
        """The faults of `step`, or None when it has none."""
        step = canonical_step(step)
        transient = self.rates.get((step, "transient"), 0.0)
        permanent = self.rates.get((step, "permanent"), 0.0)
        crash = self.rates.get((step, "crash"), 0.0)
        if transient == 0 and permanent == 0 and crash == 0:
            return None
        return StepFaults(step, transient, permanent, self.seed, crash)
