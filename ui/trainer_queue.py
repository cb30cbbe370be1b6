"""At most K training runs at once per server, the others waiting in arrival order.

Plain Python (no streamlit), so it is tested with threads; ui/training.py keeps one per process
(st.cache_resource) and draws a waiting session's place in the queue. Training wants whole
cores: two runs on a 2-core server each take twice as long and starve every slider meanwhile.

Several processes on one machine (`scripts/serve --replicas N`) share the K slots through
files: with LATENT_LAB_TRAINER_LOCKS naming a folder, a run also holds an exclusive `flock` on
one of K slot files there, which the kernel releases when the run ends or its process dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

TRAINERS_ENV = "LATENT_LAB_TRAINERS"  # how many runs may train at once on this server
LOCKS_ENV = "LATENT_LAB_TRAINER_LOCKS"  # a folder shared by the server's processes, if several
TRAINING_NICENESS = 10  # a training thread yields the CPU to every session's slider step


def trainer_slots(environ: dict[str, str] | None = None) -> int:
    """LATENT_LAB_TRAINERS, else one run per two cores (at least one)."""
    environ = os.environ if environ is None else environ
    text = environ.get(TRAINERS_ENV)
    if text is None:
        return max(1, (os.cpu_count() or 2) // 2)
    try:
        slots = int(text)
    except ValueError:
        slots = 0
    if slots < 1:
        raise ValueError(f"{TRAINERS_ENV}={text!r} must be a whole number >= 1")
    return slots


class TrainerQueue:
    """`slots` tickets may hold a trainer at once; the others wait first come, first served.

    A ticket joins, acquires (when it is first in line and a slot is free), and leaves, which
    frees its slot or its place in line: `leave` is safe to call in any state, more than once.
    """

    def __init__(self, slots: int, lock_dir: str | None = None) -> None:
        if slots < 1:
            raise ValueError(f"slots={slots!r} must be >= 1")
        self.slots = slots
        self.lock_dir = lock_dir if lock_dir is not None else os.environ.get(LOCKS_ENV)
        self._slot_files: dict[int, object] = {}  # ticket -> its locked slot file
        self._changed = threading.Condition()
        self._tickets = itertools.count(1)
        self._waiting: list[int] = []  # tickets in arrival order
        self._running: set[int] = set()

    def join(self) -> int:
        with self._changed:
            ticket = next(self._tickets)
            self._waiting.append(ticket)
            return ticket

    def _may_run(self, ticket: int) -> bool:
        return (ticket in self._running or (bool(self._waiting) and self._waiting[0] == ticket
                                            and len(self._running) < self.slots
                                            and self._take_slot_file(ticket)))

    def _take_slot_file(self, ticket: int) -> bool:
        """Lock one of the shared slot files for `ticket` (always True without a lock folder):
        the other processes' runs hold the rest."""
        if not self.lock_dir:
            return True
        os.makedirs(self.lock_dir, exist_ok=True)
        for index in range(self.slots):
            handle = open(os.path.join(self.lock_dir, f"trainer-slot-{index}.lock"), "a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # held by another run, here or in another process
                handle.close()
                continue
            self._slot_files[ticket] = handle
            return True
        return False

    def acquire(self, ticket: int, timeout: float = 0.0) -> bool:
        """Take a slot for `ticket` if it may run within `timeout` seconds; whether it holds one."""
        with self._changed:
            if ticket not in self._running and ticket not in self._waiting:
                raise ValueError(f"ticket {ticket} is not in the queue (it left)")
            if not self._changed.wait_for(lambda: self._may_run(ticket), timeout):
                return False
            if ticket not in self._running:
                self._waiting.remove(ticket)
                self._running.add(ticket)
                self._changed.notify_all()  # the next in line may run too when slots > 1
            return True

    def leave(self, ticket: int) -> None:
        with self._changed:
            self._running.discard(ticket)
            handle = self._slot_files.pop(ticket, None)
            if handle is not None:
                handle.close()  # closing the file releases its lock
            if ticket in self._waiting:
                self._waiting.remove(ticket)
            self._changed.notify_all()

    def position(self, ticket: int) -> tuple[int, int]:
        """(place in line, 1-based, or 0 when it holds a slot; how many wait)."""
        with self._changed:
            if ticket in self._running:
                return 0, len(self._waiting)
            return self._waiting.index(ticket) + 1, len(self._waiting)

    @property
    def running(self) -> int:
        with self._changed:
            return len(self._running)

    @property
    def waiting(self) -> int:
        with self._changed:
            return len(self._waiting)


def lower_thread_priority(niceness: int = TRAINING_NICENESS) -> None:
    """Make the calling thread yield the CPU to the server's other threads (Linux: per-thread
    nice; elsewhere nothing). Streamlit runs each script run in a thread of its own, so this
    lasts as long as the run that trains; it cannot be undone without privileges."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)


@contextmanager
def trainer_slot(queue: TrainerQueue, on_wait: Callable[[int, int], None],
                 poll_seconds: float = 0.5) -> Iterator[None]:
    """Hold a slot of `queue` for the block; while waiting, `on_wait(place, waiting)` every
    `poll_seconds`. Whatever ends the wait or the block (an exception, Streamlit stopping the
    script for a click or a closed session) gives the slot or the place back."""
    ticket = queue.join()
    try:
        while not queue.acquire(ticket, timeout=poll_seconds):
            on_wait(*queue.position(ticket))
        yield
    finally:
        queue.leave(ticket)
