"""The fake backend itself: each behaviour, the record of calls, kill, and the journal that
lets several processes share its hosts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from renderhub.backends.base import HostPhase, HostSpec, IdleHostSpec, load_backend
from renderhub.errors import BackendError
from renderhub.settings import Settings
from renderhub.sizes import SessionSize
from renderhub.testing import (
    JOURNAL_ENV,
    PORT_RANGE,
    Behaviour,
    FakeBackend,
    journal_kill,
    journal_script,
    read_journal,
)


def spec(session: str = "s1", account: str = "a1") -> HostSpec:
    return HostSpec(
        account_id=account,
        session_id=session,
        size=SessionSize.STANDARD,
        models=["samples/cube.glb"],
        deadline=1000.0,
        polygon_limit=None,
    )


def idle_spec(pool: str = "p1") -> IdleHostSpec:
    return IdleHostSpec(
        pool_id=pool, size=SessionSize.STANDARD, deadline=1000.0, polygon_limit=None
    )


async def test_ready_at_once_by_default_with_real_looking_address() -> None:
    backend = FakeBackend()
    started = await backend.start(spec())
    assert started.hostname == "127.0.0.1"
    for port in (started.handshake_port, started.inspector_port):
        assert PORT_RANGE[0] <= port <= PORT_RANGE[1]
    assert started.handshake_port != started.inspector_port
    assert json.loads(json.dumps(started.state)) == started.state
    assert (await backend.poll(started.state)).phase is HostPhase.READY
    assert backend.starts == [spec()]


async def test_never_ready_stays_loading() -> None:
    backend = FakeBackend()
    backend.script("slow", Behaviour.NEVER_READY)
    state = (await backend.start(spec("slow"))).state
    for _ in range(5):
        assert (await backend.poll(state)).phase is HostPhase.LOADING
    assert backend.polls(state) == 5


async def test_default_behaviour_applies_to_sessions_not_scripted() -> None:
    backend = FakeBackend(default=Behaviour.NEVER_READY)
    backend.script("quick", Behaviour.READY)
    slow = (await backend.start(spec("other"))).state
    quick = (await backend.start(spec("quick"))).state
    assert (await backend.poll(slow)).phase is HostPhase.LOADING
    assert (await backend.poll(quick)).phase is HostPhase.READY


async def test_a_script_given_after_the_start_takes_over() -> None:
    backend = FakeBackend(default=Behaviour.NEVER_READY)
    state = (await backend.start(spec("late"))).state
    assert (await backend.poll(state)).phase is HostPhase.LOADING
    backend.script("late", Behaviour.READY, message="Over the limit.", polygons=12)
    health = await backend.poll(state)
    assert (health.phase, health.message, health.polygons) == (
        HostPhase.READY,
        "Over the limit.",
        12,
    )


async def test_ports_are_not_shared_between_hosts() -> None:
    backend = FakeBackend()
    ports = []
    for index in range(200):
        state = (await backend.start(spec(f"s{index}"))).state
        ports += [state["port"], state["inspectorPort"]]
    assert len(set(ports)) == len(ports)


async def test_fails_with_the_scripted_message_or_a_default_one() -> None:
    backend = FakeBackend()
    backend.script("bad", Behaviour.FAILS, message="No such model: nope.glb.")
    backend.script("worse", Behaviour.FAILS)
    health = await backend.poll((await backend.start(spec("bad"))).state)
    assert (health.phase, health.message) == (HostPhase.FAILED, "No such model: nope.glb.")
    health = await backend.poll((await backend.start(spec("worse"))).state)
    assert health.phase is HostPhase.FAILED
    assert health.message == "The fake host failed to load the models."


async def test_dies_after_the_given_number_of_polls_and_stays_dead() -> None:
    backend = FakeBackend()
    backend.script("short", Behaviour.DIES, polls=2, message="Segmentation fault.")
    state = (await backend.start(spec("short"))).state
    assert [(await backend.poll(state)).phase for _ in range(2)] == [HostPhase.READY] * 2
    for _ in range(2):
        health = await backend.poll(state)
        assert (health.phase, health.message) == (HostPhase.GONE, "Segmentation fault.")


async def test_kill_makes_only_that_sessions_host_gone() -> None:
    backend = FakeBackend()
    victim = (await backend.start(spec("victim"))).state
    bystander = (await backend.start(spec("bystander"))).state
    backend.kill("victim", message="Killed by the test.")
    health = await backend.poll(victim)
    assert (health.phase, health.message) == (HostPhase.GONE, "Killed by the test.")
    assert (await backend.poll(bystander)).phase is HostPhase.READY


async def test_kill_with_an_account_spares_the_same_session_id_elsewhere() -> None:
    backend = FakeBackend()
    mine = (await backend.start(spec("same", "mine"))).state
    theirs = (await backend.start(spec("same", "theirs"))).state
    backend.kill("same", account_id="mine")
    assert (await backend.poll(mine)).phase is HostPhase.GONE
    assert (await backend.poll(theirs)).phase is HostPhase.READY


async def test_launch_failure_raises_backend_error_and_starts_nothing() -> None:
    backend = FakeBackend()
    backend.script("doomed", Behaviour.LAUNCH_FAILS, message="No room on any node.")
    with pytest.raises(BackendError, match="No room on any node"):
        await backend.start(spec("doomed"))
    assert backend.starts == [spec("doomed")]


async def test_records_stops_deadlines_and_a_stopped_host_is_gone() -> None:
    backend = FakeBackend()
    state = (await backend.start(spec())).state
    await backend.set_deadline(state, 1234.5)
    await backend.stop(state, "The session was stopped.")
    await backend.stop(state)  # safe on a host already gone
    assert backend.deadlines == [("a1", "s1", 1234.5)]
    assert backend.stops == [("a1", "s1", "The session was stopped."), ("a1", "s1", None)]
    assert (await backend.poll(state)).phase is HostPhase.GONE


async def test_pool_host_is_idle_until_assigned_then_behaves_as_scripted() -> None:
    backend = FakeBackend()
    backend.script("pooled", Behaviour.FAILS, message="Bad model.")
    state = (await backend.start_idle(idle_spec())).state
    assert (await backend.poll(state)).phase is HostPhase.IDLE
    await backend.assign(state, spec("pooled"))
    assert backend.assigns == [("p1", "a1", "pooled")]
    health = await backend.poll(state)
    assert (health.phase, health.message) == (HostPhase.FAILED, "Bad model.")
    with pytest.raises(BackendError, match="already assigned"):
        await backend.assign(state, spec("again"))


async def test_assigning_a_stopped_pool_host_raises() -> None:
    backend = FakeBackend()
    state = (await backend.start_idle(idle_spec())).state
    await backend.stop(state, "Pool shrinks.")
    assert backend.stops == [(None, None, "Pool shrinks.")]
    with pytest.raises(BackendError, match="gone"):
        await backend.assign(state, spec())


async def test_aclose_keeps_hosts_so_a_restarted_plane_readopts_them() -> None:
    backend = FakeBackend()
    state = (await backend.start(spec())).state
    await backend.aclose()
    assert backend.closed == 1
    assert (await backend.poll(state)).phase is HostPhase.READY
    # A fresh backend (another process, no journal) reads the host from its state alone.
    assert (await FakeBackend().poll(state)).phase is HostPhase.READY


def test_the_entry_point_builds_it_from_settings(tmp_path: Path) -> None:
    backend = load_backend(Settings(data_dir=tmp_path, backend="fake"))
    assert isinstance(backend, FakeBackend)
    assert backend.name == "fake"


async def test_journal_records_every_call_with_the_pid(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    backend = FakeBackend(journal=journal)
    state = (await backend.start(spec())).state
    await backend.set_deadline(state, 99.0)
    await backend.stop(state, "Bye.")
    events = read_journal(journal)
    assert [event["op"] for event in events] == ["start", "deadline", "stop"]
    assert {(event["account"], event["session"], event["pid"]) for event in events} == {
        ("a1", "s1", os.getpid())
    }
    assert events[1]["deadline"] == 99.0
    assert events[2]["reason"] == "Bye."
    assert all(isinstance(event["time"], float) for event in events)


async def test_journal_is_named_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = tmp_path / "env.jsonl"
    monkeypatch.setenv(JOURNAL_ENV, str(journal))
    await FakeBackend(Settings(data_dir=tmp_path)).start(spec())
    assert [event["op"] for event in read_journal(journal)] == ["start"]


async def test_journal_kill_and_script_reach_a_backend_in_this_process(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    backend = FakeBackend(journal=journal)
    journal_script(journal, "bad", Behaviour.FAILS, message="Scripted from outside.")
    bad = (await backend.start(spec("bad"))).state
    good = (await backend.start(spec("good"))).state
    health = await backend.poll(bad)
    assert (health.phase, health.message) == (HostPhase.FAILED, "Scripted from outside.")
    journal_kill(journal, "good", message="Node lost.")
    health = await backend.poll(good)
    assert (health.phase, health.message) == (HostPhase.GONE, "Node lost.")


async def test_kill_and_stop_go_through_the_journal_when_there_is_one(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    backend = FakeBackend(journal=journal)
    killed = (await backend.start(spec("killed"))).state
    stopped = (await backend.start(spec("stopped"))).state
    backend.kill("killed")
    await backend.stop(stopped, "Done.")
    assert [event["op"] for event in read_journal(journal)] == ["start", "start", "kill", "stop"]
    assert (await backend.poll(killed)).phase is HostPhase.GONE
    health = await backend.poll(stopped)
    assert (health.phase, health.message) == (HostPhase.GONE, "The fake host was stopped.")


_OTHER_REPLICA = """
import asyncio, json, sys
from renderhub.testing import FakeBackend
from renderhub.backends.base import HostSpec
from renderhub.sizes import SessionSize

async def main():
    backend = FakeBackend(journal=sys.argv[1])
    started = await backend.start(HostSpec("a1", sys.argv[2], SessionSize.STANDARD, [], 1e9, None))
    if sys.argv[3] == "stop":
        await backend.stop(started.state, "Stopped by the other replica.")
    print(json.dumps(started.state))

asyncio.run(main())
"""


def other_replica(journal: Path, session: str, then: str) -> dict[str, object]:
    """Start a host in another process (another control-plane replica); return its state."""
    done = subprocess.run(
        [sys.executable, "-c", _OTHER_REPLICA, str(journal), session, then],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    state: dict[str, object] = json.loads(done.stdout)
    return state


async def test_hosts_are_shared_across_processes_through_the_journal(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    kept = other_replica(journal, "kept", "keep")
    stopped = other_replica(journal, "stopped", "stop")
    here = FakeBackend(journal=journal)
    assert (await here.poll(kept)).phase is HostPhase.READY
    assert (await here.poll(stopped)).phase is HostPhase.GONE
    journal_kill(journal, "kept")
    health = await here.poll(kept)
    assert (health.phase, health.message) == (HostPhase.GONE, "The fake host was killed.")
    pids = {event["pid"] for event in read_journal(journal) if event["op"] == "start"}
    assert len(pids) == 2 and os.getpid() not in pids


def test_read_journal_skips_a_line_still_being_written(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    assert read_journal(journal) == []
    journal.write_text('{"op":"kill","session":"s"}\n{"op":"ki')
    assert read_journal(journal) == [{"op": "kill", "session": "s"}]
