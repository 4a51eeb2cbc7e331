"""A fake backend, for tests of the code around backends: the session service, the scheduler,
the API, the client, several replicas sharing a store.

It starts no process and binds no socket. A test chooses per session how its "host" behaves
(Ready at once, never Ready, failing, dying later, or failing to launch) and reads back every
call the control plane made (starts, stops with their reason, deadlines, assignments). It is
never the way to make a feature "work": anything about real hosts (models loading, ports
served, frames streamed) is tested against real hosts, in the end-to-end tier.

Within one process a test holds the `FakeBackend` and scripts it directly. Across processes
(several `renderhub serve` replicas with `RENDERHUB_BACKEND=fake`), set
`RENDERHUB_FAKE_JOURNAL` to a file: every replica appends one JSON line per start, stop,
deadline and assignment (one `write` with O_APPEND each, so lines never interleave), and reads
the lines the others and the test wrote, so a host stopped by one replica is gone for all, and a
test makes a host die with `journal_kill` or scripts a session with `journal_script`.

Each journal line is a JSON object with `op`, `account`, `session`, `host` (the fake host's
id), `pid` (of the process that wrote it) and `time` (epoch seconds); `op` is one of `start`,
`start-idle`, `launch-failed`, `assign`, `deadline` (with `deadline`), `stop` (with `reason`),
`died` (a DIES host reaching its last poll), and, written by tests, `kill` and `script`.
`read_journal` returns them oldest first.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple

from renderhub.backends.base import (
    BackendState,
    HostHealth,
    HostPhase,
    HostSpec,
    IdleHostSpec,
    StartedHost,
)
from renderhub.errors import BackendError
from renderhub.settings import Settings

log = logging.getLogger(__name__)

JOURNAL_ENV = "RENDERHUB_FAKE_JOURNAL"
PORT_RANGE = (49152, 65534)
ADDRESS = "127.0.0.1"
_ANY_ACCOUNT = "*"


class Behaviour(StrEnum):
    """How a fake host behaves once started."""

    READY = "ready"  # Ready at the first poll (with `message`, if any: over a limit, say)
    NEVER_READY = "never_ready"  # stays loading for ever (a start timeout)
    FAILS = "fails"  # polls FAILED with a message (a model that does not load)
    DIES = "dies"  # Ready, then GONE with a message after `polls` polls (or on kill)
    LAUNCH_FAILS = "launch_fails"  # start raises BackendError (the launch itself fails)


DEFAULT_MESSAGES = {
    Behaviour.READY: None,
    Behaviour.NEVER_READY: None,
    Behaviour.FAILS: "The fake host failed to load the models.",
    Behaviour.DIES: "The fake host stopped unexpectedly.",
    Behaviour.LAUNCH_FAILS: "The fake backend could not launch a host.",
}
KILLED_MESSAGE = "The fake host was killed."
STOPPED_MESSAGE = "The fake host was stopped."


@dataclass(frozen=True, slots=True)
class Script:
    """One session's behaviour. `polls`: for DIES, how many polls answer Ready before it dies
    (None: it lives until killed)."""

    behaviour: Behaviour = Behaviour.READY
    message: str | None = None
    polls: int | None = None
    polygons: int | None = None

    @property
    def text(self) -> str | None:
        return self.message or DEFAULT_MESSAGES[self.behaviour]

    def to_json(self) -> dict[str, Any]:
        return {
            "behaviour": self.behaviour.value,
            "message": self.message,
            "polls": self.polls,
            "polygons": self.polygons,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Script:
        return cls(
            Behaviour(data.get("behaviour", Behaviour.READY)),
            data.get("message"),
            data.get("polls"),
            data.get("polygons"),
        )


class Stop(NamedTuple):
    account: str | None
    session: str | None
    reason: str | None


class Deadline(NamedTuple):
    account: str | None
    session: str | None
    deadline: float


class Assign(NamedTuple):
    pool: str
    account: str
    session: str


@dataclass
class _Assignment:
    account: str
    session: str
    script: Script


@dataclass
class _World:
    """What this process knows of every fake host: its own calls, plus the journal's lines."""

    scripts: dict[tuple[str, str], Script] = field(default_factory=dict)
    killed: dict[tuple[str, str], str] = field(default_factory=dict)  # (account, session)
    gone: dict[str, str] = field(default_factory=dict)  # host id -> why
    assigned: dict[str, _Assignment] = field(default_factory=dict)  # host id
    running: dict[tuple[str, str], BackendState] = field(default_factory=dict)

    def apply(self, event: dict[str, Any]) -> None:
        op = event.get("op")
        account, session = event.get("account") or _ANY_ACCOUNT, event.get("session") or ""
        if op == "start":  # a new host for the session: earlier kills were for older ones
            self.killed.pop((account, session), None)
            self.killed.pop((_ANY_ACCOUNT, session), None)
            if "state" in event:
                self.running[(account, session)] = event["state"]
        elif op == "stop":
            self.gone[event["host"]] = STOPPED_MESSAGE
        elif op == "died":
            self.gone[event["host"]] = event.get("message") or KILLED_MESSAGE
        elif op == "kill":
            self.killed[(account, session)] = event.get("message") or KILLED_MESSAGE
        elif op == "assign":
            self.killed.pop((account, session), None)
            script = Script.from_json(event.get("script") or {})
            self.assigned[event["host"]] = _Assignment(account, session, script)
        elif op == "script":
            self.scripts[(account, session)] = Script.from_json(event)

    def running_host(self, account: str, session: str) -> BackendState | None:
        """The state of the session's host if one was started and is not gone."""
        state = self.running.get((account, session))
        if state is None or state["host"] in self.gone:
            return None
        return state

    def script_for(self, account: str, session: str) -> Script | None:
        return self.scripts.get((account, session)) or self.scripts.get((_ANY_ACCOUNT, session))

    def killed_message(self, account: str, session: str) -> str | None:
        return self.killed.get((account, session)) or self.killed.get((_ANY_ACCOUNT, session))


class FakeBackend:
    """A backend whose hosts exist only in this object (and the journal, if one is named).

    Implements `Backend` and `PoolingBackend`. `default` is how every session not scripted
    behaves; `start_delay` and `poll_delay` make each call that slow (seconds)."""

    name = "fake"

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        default: Behaviour | Script = Behaviour.READY,
        start_delay: float = 0.0,
        poll_delay: float = 0.0,
        journal: Path | str | None = None,
        teraflops: float | None = 1.0,
    ) -> None:
        if settings is not None and settings.backend == self.name:  # chosen as a service's
            log.warning("the fake backend starts no render hosts: it is for tests only")
        self.settings = settings
        self.default = default if isinstance(default, Script) else Script(default)
        self.start_delay = start_delay
        self.poll_delay = poll_delay
        self.teraflops = teraflops
        named = journal if journal is not None else os.environ.get(JOURNAL_ENV)
        self.journal = Path(named) if named else None
        self._journal_offset = 0
        self._world = _World()
        self._polls: Counter[str] = Counter()
        self._used_ports: set[int] = set()
        # Every call, for assertions.
        self.starts: list[HostSpec] = []
        self.idle_starts: list[IdleHostSpec] = []
        self.stops: list[Stop] = []
        self.deadlines: list[Deadline] = []
        self.assigns: list[Assign] = []
        self.closed = 0

    # -- scripting, for tests ------------------------------------------------------------

    def script(
        self,
        session_id: str,
        behaviour: Behaviour = Behaviour.READY,
        *,
        message: str | None = None,
        polls: int | None = None,
        polygons: int | None = None,
        account_id: str | None = None,
    ) -> None:
        """How the host of `session_id` (of any account, unless given) behaves: from its start,
        or from now on if it has started (a never-Ready host that finally loads, say)."""
        key = (account_id or _ANY_ACCOUNT, session_id)
        self._world.scripts[key] = Script(behaviour, message, polls, polygons)

    def kill_host(self, state: BackendState, message: str | None = None) -> None:
        """Make the host of `state` (a warm pool host, say) die now."""
        self._emit(_event("died", None, None, state["host"], message=message))

    def kill(
        self, session_id: str, *, account_id: str | None = None, message: str | None = None
    ) -> None:
        """Make the session's host die now: its next poll answers GONE with `message`."""
        self._emit({"op": "kill", "account": account_id, "session": session_id, "message": message})

    def polls(self, state: BackendState) -> int:
        """How many times this process polled the host of `state`."""
        return self._polls[str(state["host"])]

    # -- the backend contract --------------------------------------------------------------

    async def start(self, spec: HostSpec) -> StartedHost:
        if self.start_delay:
            await asyncio.sleep(self.start_delay)
        self._sync()
        running = self._world.running_host(spec.account_id, spec.session_id)
        if running is not None:
            # As the ray backend's named actors: a second start of a session (a replica that
            # took over mid-launch) adopts the host the first one started.
            self._emit(_event("adopt", spec.account_id, spec.session_id, running["host"]))
            return self._started(running)
        self.starts.append(spec)
        script = self._world.script_for(spec.account_id, spec.session_id) or self.default
        if script.behaviour is Behaviour.LAUNCH_FAILS:
            self._emit(_event("launch-failed", spec.account_id, spec.session_id))
            raise BackendError(script.text or "The fake backend could not launch a host.")
        state = self._new_state(account=spec.account_id, session=spec.session_id)
        state["script"] = script.to_json()
        self._emit(_event("start", spec.account_id, spec.session_id, state["host"], state=state))
        return self._started(state)

    async def start_idle(self, spec: IdleHostSpec) -> StartedHost:
        if self.start_delay:
            await asyncio.sleep(self.start_delay)
        self.idle_starts.append(spec)
        state = self._new_state(pool=spec.pool_id)
        self._emit(_event("start-idle", None, None, state["host"], pool=spec.pool_id))
        return self._started(state)

    async def assign(self, state: BackendState, spec: HostSpec) -> None:
        self._sync()
        host = str(state["host"])
        if "pool" not in state:
            raise BackendError("The fake host is not a pool host.")
        if host in self._world.gone:
            raise BackendError("The fake pool host is gone.")
        if host in self._world.assigned:
            raise BackendError("The fake pool host was already assigned a session.")
        self.assigns.append(Assign(str(state["pool"]), spec.account_id, spec.session_id))
        script = self._world.script_for(spec.account_id, spec.session_id) or self.default
        event = _event("assign", spec.account_id, spec.session_id, host, pool=state["pool"])
        self._emit({**event, "script": script.to_json()})

    async def poll(self, state: BackendState) -> HostHealth:
        if self.poll_delay:
            await asyncio.sleep(self.poll_delay)
        self._sync()
        host = str(state["host"])
        self._polls[host] += 1
        if host in self._world.gone:
            return HostHealth(HostPhase.GONE, self._world.gone[host])
        owner = self._owner(state)
        if owner is None:
            return HostHealth(HostPhase.IDLE)
        account, session, script = owner
        killed = self._world.killed_message(account, session)
        if killed is not None:
            return HostHealth(HostPhase.GONE, killed)
        return self._health(host, account, session, script)

    def _health(self, host: str, account: str, session: str, script: Script) -> HostHealth:
        behaviour = script.behaviour
        if behaviour is Behaviour.NEVER_READY:
            return HostHealth(HostPhase.LOADING)
        if behaviour is Behaviour.FAILS:
            return HostHealth(HostPhase.FAILED, script.text)
        dies = behaviour is Behaviour.DIES and script.polls is not None
        if dies and self._polls[host] > (script.polls or 0):
            message = script.text or KILLED_MESSAGE
            self._world.gone[host] = message
            self._emit(_event("died", account, session, host, message=message))
            return HostHealth(HostPhase.GONE, message)
        ready_message = script.message if behaviour is Behaviour.READY else None
        return HostHealth(HostPhase.READY, ready_message, script.polygons)

    async def set_deadline(self, state: BackendState, deadline: float) -> None:
        account, session = self._names(state)
        self.deadlines.append(Deadline(account, session, deadline))
        self._emit({**_event("deadline", account, session, state["host"]), "deadline": deadline})

    async def stop(self, state: BackendState, reason: str | None = None) -> None:
        self._sync()
        account, session = self._names(state)
        self.stops.append(Stop(account, session, reason))
        already = state["host"] in self._world.gone  # a stop of a gone host changes nothing
        event = _event("stop", account, session, state["host"], reason=reason, already=already)
        self._emit(event)

    async def stop_unrecorded(self, account_id: str, session_id: str, reason: str) -> bool:
        """Stop the session's running host, found by the session (as the ray backend's named
        actors): one a replica launched and died before recording."""
        self._sync()
        running = self._world.running_host(account_id, session_id)
        if running is None:
            return False
        await self.stop(running, reason)
        return True

    async def aclose(self) -> None:
        """Nothing to release; the hosts "keep running", so a test may reuse this backend for
        a restarted control plane and see its sessions re-adopted."""
        self.closed += 1

    # -- inside ----------------------------------------------------------------------------

    def _owner(self, state: BackendState) -> tuple[str, str, Script] | None:
        """The session a host serves, and how it behaves; None for an unassigned pool host."""
        if "pool" in state:
            assignment = self._world.assigned.get(str(state["host"]))
            if assignment is None:
                return None
            account, session, script = assignment.account, assignment.session, assignment.script
        else:
            account, session = str(state["account"]), str(state["session"])
            script = Script.from_json(state.get("script") or {})
        # A script given after the start (a host that finishes loading, say) takes over.
        return account, session, self._world.script_for(account, session) or script

    def _names(self, state: BackendState) -> tuple[str | None, str | None]:
        owner = self._owner(state)
        return (owner[0], owner[1]) if owner else (None, None)

    def _new_state(self, **names: str) -> BackendState:
        """A host's state: its id and ports that look real (not reused by this backend,
        so two sessions do not share one), though nothing listens on them."""
        ports = range(PORT_RANGE[0], PORT_RANGE[1] + 1)
        if len(self._used_ports) > len(ports) // 2:
            self._used_ports.clear()  # thousands of hosts: a reuse is harmless by now
        while True:
            handshake, inspector = random.sample(ports, 2)
            if not self._used_ports.intersection((handshake, inspector)):
                break
        self._used_ports.update((handshake, inspector))
        return {
            "host": uuid.uuid4().hex,
            "address": ADDRESS,
            "port": handshake,
            "inspectorPort": inspector,
            **names,
        }

    def _started(self, state: BackendState) -> StartedHost:
        return StartedHost(
            state=state,
            hostname=state["address"],
            handshake_port=state["port"],
            inspector_port=state["inspectorPort"],
            teraflops=self.teraflops,
        )

    def _emit(self, event: dict[str, Any]) -> None:
        """Record an event: in the journal when there is one (read back at the next sync, in
        order with the other processes' lines), else straight into this process's world."""
        if self.journal is None:
            self._world.apply(event)
        else:
            append_journal(self.journal, event)

    def _sync(self) -> None:
        if self.journal is None:
            return
        events, self._journal_offset = _read_from(self.journal, self._journal_offset)
        for event in events:
            self._world.apply(event)


def _event(
    op: str, account: str | None, session: str | None, host: str | None = None, **more: Any
) -> dict[str, Any]:
    return {"op": op, "account": account, "session": session, "host": host, **more}


# -- the journal, for several processes ------------------------------------------------------


def append_journal(path: Path | str, event: dict[str, Any]) -> None:
    """Append one event as one JSON line, in one write (O_APPEND: lines never interleave)."""
    line = {**event, "pid": os.getpid(), "time": time.time()}
    data = (json.dumps(line, separators=(",", ":")) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def read_journal(path: Path | str) -> list[dict[str, Any]]:
    """Every complete line of the journal, oldest first ([] if there is none yet)."""
    events, _offset = _read_from(Path(path), 0)
    return events


def journal_kill(
    path: Path | str, session_id: str, *, account_id: str | None = None, message: str | None = None
) -> None:
    """Make a session's fake host die, whichever replica polls it next."""
    append_journal(
        path, {"op": "kill", "account": account_id, "session": session_id, "message": message}
    )


def journal_script(
    path: Path | str,
    session_id: str,
    behaviour: Behaviour,
    *,
    message: str | None = None,
    polls: int | None = None,
    polygons: int | None = None,
    account_id: str | None = None,
) -> None:
    """Script a session for every replica; write it before the session is created."""
    script = Script(behaviour, message, polls, polygons)
    append_journal(
        path, {"op": "script", "account": account_id, "session": session_id, **script.to_json()}
    )


def _read_from(path: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    """The complete lines after `offset`, and the offset after the last of them."""
    try:
        with open(path, "rb") as journal:
            journal.seek(offset)
            data = journal.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    events = [json.loads(line) for line in data[:end].splitlines() if line.strip()]
    return events, offset + end
