import pytest

from renderhub.errors import InvalidTransition
from renderhub.sizes import SessionSize
from renderhub.status import TRANSITIONS, SessionStatus, check_transition, sources_of


def test_terminal_statuses_have_no_way_out() -> None:
    for status in SessionStatus:
        assert (TRANSITIONS[status] == frozenset()) == status.is_terminal


def test_the_lifecycle_of_the_architecture() -> None:
    check_transition(SessionStatus.STARTING, SessionStatus.READY)
    check_transition(SessionStatus.READY, SessionStatus.EXPIRED)
    check_transition(SessionStatus.READY, SessionStatus.STOPPING)
    check_transition(SessionStatus.STOPPING, SessionStatus.STOPPED)
    check_transition(SessionStatus.STARTING, SessionStatus.ERROR)
    with pytest.raises(InvalidTransition):
        check_transition(SessionStatus.STOPPED, SessionStatus.READY)
    with pytest.raises(InvalidTransition):
        check_transition(SessionStatus.STARTING, SessionStatus.EXPIRED)


def test_sources_follow_the_table() -> None:
    assert sources_of(SessionStatus.STOPPING) == {SessionStatus.STARTING, SessionStatus.READY}
    assert sources_of(SessionStatus.EXPIRED) == {SessionStatus.READY}


def test_2021_api_has_no_stopping() -> None:
    assert SessionStatus.STOPPING.as_2021() is SessionStatus.STOPPED
    assert SessionStatus.READY.as_2021() is SessionStatus.READY


@pytest.mark.parametrize("text", ["standard", "Standard", "STANDARD", " standard "])
def test_size_in_any_case(text: str) -> None:
    assert SessionSize.parse(text) is SessionSize.STANDARD
