"""The result of verifying a bundle: what was checked, what differs, what could not be checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Findings", "Status", "VerifyResult"]

Status = Literal["verified", "unverified", "failed"]


@dataclass
class Findings:
    """Collected while verifying; frozen into a ``VerifyResult`` at the end."""

    checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    unreachable: bool = False


@dataclass(frozen=True)
class VerifyResult:
    """``problems``: discrepancies (status ``failed``). ``unchecked``: what should have been checked
    and could not be (status ``unverified``). ``skipped``: what the caller chose not to check, or
    what needs an input they did not give; it does not change the status."""

    bundle: str
    checks: tuple[str, ...]
    problems: tuple[str, ...]
    unchecked: tuple[str, ...]
    skipped: tuple[str, ...]
    unreachable: bool = False

    @classmethod
    def of(cls, bundle: str, found: Findings) -> "VerifyResult":
        return cls(bundle, tuple(found.checks), tuple(found.problems), tuple(found.unchecked),
                   tuple(found.skipped), found.unreachable)

    @property
    def status(self) -> Status:
        if self.problems:
            return "failed"
        return "unverified" if self.unchecked else "verified"

    @property
    def ok(self) -> bool:
        return self.status == "verified"

    @property
    def exit_code(self) -> int:
        """0 verified; 1 a discrepancy, or a run absent or deleted; 3 the tracking store unreachable."""
        if self.status == "verified":
            return 0
        return 3 if self.status == "unverified" and self.unreachable else 1

    def as_dict(self) -> dict[str, Any]:
        return {"bundle": self.bundle, "status": self.status, "ok": self.ok, "checks": list(self.checks),
                "problems": list(self.problems), "unchecked": list(self.unchecked),
                "skipped": list(self.skipped)}

    def __getitem__(self, key: str) -> Any:
        """The mapping shape ``verify_bundle`` returned before it returned this object."""
        return self.as_dict()[key]
