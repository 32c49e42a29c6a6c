"""``ironlb status`` reads who announces a Service from the speakers' ``nodeAssigned`` Events when
nothing better says it: in MetalLB's words as the speakers write them now (quoted, ``%q``), and
in the unquoted words of older ironlb speakers. Pure: no API server."""

from __future__ import annotations

from ironlb.live.status import NODE_ASSIGNED, EventLine, _from_events
from speaker.events import message


def _event(text: str) -> EventLine:
    return EventLine("2026-01-01T00:00:00Z", "Normal", NODE_ASSIGNED, text, "ironlb-speaker")


def test_the_speakers_message_is_metallbs_and_names_the_announcer() -> None:
    assert message("node-1", "layer2") == 'announcing from node "node-1" with protocol "layer2"'
    events = [_event(message("n2", "bgp")), _event("announcing from node n1 with protocol bgp")]
    announcers = _from_events(("198.51.100.1",), events)
    assert [(a.node, a.protocol) for a in announcers] == [("n2", "bgp"), ("n1", "bgp")]


def test_a_program_line_counts_its_errors_in_words() -> None:
    from ironlb.live.status import program_lines

    def state(count: int) -> dict[str, object]:
        return {"metadata": {"name": "controller"}, "status": {"result": "Invalid", "errorCount": count}}

    assert program_lines([state(1)]) == ("controller: Invalid; 1 error",)
    assert program_lines([state(3)]) == ("controller: Invalid; 3 errors",)
