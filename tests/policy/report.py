"""What the stack tests saw, printed at the end of the session and written to the artifacts dir."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class StackResult:
    stack: str
    mode: str
    resources: int
    mandatory: list[str] = field(default_factory=list)
    advisory: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.stack:<6} {self.mode:<8} {self.resources:>3} resources analyzed, "
            f"{len(self.mandatory)} mandatory violations, {len(self.advisory)} advisory"
        )


RESULTS: list[StackResult] = []
FIRED_OVER_GRPC: set[str] = set()


def as_json() -> dict[str, object]:
    return {
        "stacks": [asdict(result) for result in RESULTS],
        "policies_fired_over_grpc": sorted(FIRED_OVER_GRPC),
    }
