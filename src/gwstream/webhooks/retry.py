"""When a webhook attempt counts as delivered, and how long to wait before the next one.

Pure functions of their inputs (the random source is an argument), so the
schedule is tested without waiting:

- 2xx: delivered;
- 408, 429, any 5xx, a timeout or a connection error: retried, after
  exponential backoff with full jitter (a wait drawn from
  ``[0, min(cap, base * 2**retry)]``), and never sooner than the
  receiver's ``Retry-After`` (honoured up to ``retry_after_cap_s``);
- anything else (other 4xx; 3xx, since redirects are not followed: a signed
  body must not travel to a host nobody configured): rejected, dead-lettered
  at once, since asking again would get the same answer.

After ``max_attempts`` attempts the event is dead-lettered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from gwstream.webhooks.settings import WebhookSettings

__all__ = ["RandomUniform", "RetrySchedule", "Verdict", "verdict"]

RandomUniform = Callable[[float, float], float]
"""``random.uniform``-shaped: ``(low, high) -> low <= x <= high``."""

Verdict = Literal["delivered", "retry", "reject"]


def verdict(status: int) -> Verdict:
    """What an HTTP status means for a webhook delivery."""
    if 200 <= status <= 299:
        return "delivered"
    if status in (408, 429) or 500 <= status <= 599:
        return "retry"
    return "reject"


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """How many attempts, and the waits between them, for one tenant's endpoint."""

    max_attempts: int
    base_s: float
    cap_s: float
    retry_after_cap_s: float

    @classmethod
    def of(cls, settings: WebhookSettings) -> RetrySchedule:
        return cls(
            settings.max_attempts,
            settings.backoff_base_s,
            settings.backoff_cap_s,
            settings.retry_after_cap_s,
        )

    def delay(
        self, attempts_made: int, *, retry_after_s: float | None, rand: RandomUniform
    ) -> float | None:
        """Seconds to wait before attempt ``attempts_made + 1``, or None to give up.

        ``attempts_made`` counts the attempts so far (1 after the first failed).
        """
        if attempts_made >= self.max_attempts:
            return None
        exponent = min(max(attempts_made - 1, 0), 60)  # 2**60 * base overflows any sane cap
        wait = rand(0.0, min(self.cap_s, self.base_s * 2.0**exponent))
        if retry_after_s is not None:
            wait = max(wait, min(retry_after_s, self.retry_after_cap_s))
        return wait

    def longest(self) -> float:
        """The most all waits of one delivery can add up to (Retry-After aside)."""
        return sum(
            min(self.cap_s, self.base_s * 2.0 ** min(n, 60)) for n in range(self.max_attempts - 1)
        )
