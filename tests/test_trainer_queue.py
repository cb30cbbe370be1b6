"""The server's queue of training runs (ui.trainer_queue) with threads, and the Train page
waiting for a free trainer."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from tests.pages import open_page
from tests.test_train_page import small_run
from ui import state
from ui.trainer_queue import TRAINERS_ENV, TrainerQueue, trainer_slot, trainer_slots


def test_slots_from_the_environment_or_the_cores(monkeypatch):
    assert trainer_slots({TRAINERS_ENV: "3"}) == 3
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert trainer_slots({}) == 1
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert trainer_slots({}) == 8
    for bad in ("0", "-1", "two"):
        with pytest.raises(ValueError, match=TRAINERS_ENV):
            trainer_slots({TRAINERS_ENV: bad})


def test_first_come_first_served_within_the_slots():
    queue = TrainerQueue(2)
    first, second, third, fourth = (queue.join() for _ in range(4))
    assert queue.acquire(first) and queue.acquire(second)
    assert not queue.acquire(fourth)  # not first in line
    assert not queue.acquire(third)  # first in line, but both slots are held
    assert queue.position(third) == (1, 2) and queue.position(fourth) == (2, 2)
    assert queue.position(first) == (0, 2)
    queue.leave(second)
    assert not queue.acquire(fourth) and queue.acquire(third)
    assert queue.position(fourth) == (1, 1)
    queue.leave(fourth)  # cancelled while waiting: out of the line
    assert queue.waiting == 0 and queue.running == 2
    queue.leave(fourth)  # leaving twice is harmless
    with pytest.raises(ValueError, match="left"):
        queue.acquire(fourth)


def test_a_waiting_thread_runs_once_the_holder_leaves():
    queue = TrainerQueue(1)
    holder = queue.join()
    assert queue.acquire(holder)
    order: list[str] = []
    places: list[tuple[int, int]] = []

    def waiter(name: str) -> None:
        with trainer_slot(queue, lambda place, waiting: places.append((place, waiting)), 0.02):
            order.append(name)
            time.sleep(0.05)
            assert queue.running == 1  # never two at once with one slot

    threads = [threading.Thread(target=waiter, args=(name,)) for name in ("b", "c")]
    threads[0].start()
    while queue.waiting < 1:
        time.sleep(0.01)
    threads[1].start()
    while queue.waiting < 2:
        time.sleep(0.01)
    time.sleep(0.1)
    assert order == [] and (2, 2) in places and (1, 2) in places
    queue.leave(holder)
    for thread in threads:
        thread.join(5)
    assert order == ["b", "c"]
    assert queue.running == 0 and queue.waiting == 0


class Interrupted(BaseException):
    """Like Streamlit's StopException/RerunException: a BaseException raised into the script."""


def test_an_interrupted_wait_or_a_failed_run_frees_its_place():
    queue = TrainerQueue(1)
    holder = queue.join()
    queue.acquire(holder)

    def interrupt(place: int, waiting: int) -> None:
        raise Interrupted  # the Cancel click, or a closed session

    with pytest.raises(Interrupted), trainer_slot(queue, interrupt, 0.01):
        pass
    assert queue.waiting == 0
    queue.leave(holder)
    with pytest.raises(RuntimeError), trainer_slot(queue, interrupt, 0.01):
        assert queue.running == 1
        raise RuntimeError("the family failed")
    assert queue.running == 0 and queue.waiting == 0


def test_the_train_page_waits_for_a_free_trainer(monkeypatch, tmp_path):
    from ui.training import trainer_queue

    queue = trainer_queue()
    holder = queue.join()
    assert queue.acquire(holder)  # another session is training
    seen: list[tuple[int, int]] = []
    position = queue.position

    def watch(ticket):
        seen.append(position(ticket))
        if len(seen) == 1:  # the page is waiting now: the other session finishes (on a busy
            # machine a fixed delay could end before the page had even started to wait)
            threading.Thread(target=queue.leave, args=(holder,)).start()
        return seen[-1]

    monkeypatch.setattr(queue, "position", watch)
    at = open_page("app_pages/train.py", tmp_path, monkeypatch)
    small_run(at)
    assert (1, 1) in seen  # it waited, first in line
    run = at.session_state[state.TRAIN_RUN]
    assert run.finished and run.epochs_done == 1
    assert queue.running == 0 and queue.waiting == 0  # the finished run gave its trainer back


def test_a_training_thread_yields_the_cpu():
    import os

    from ui.trainer_queue import TRAINING_NICENESS, lower_thread_priority

    seen: list[int] = []

    def train() -> None:
        lower_thread_priority()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    main = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    thread = threading.Thread(target=train)
    thread.start()
    thread.join()
    assert seen == [max(main, TRAINING_NICENESS)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main  # only that thread


HOLDER = """
import sys
from ui.trainer_queue import TrainerQueue
queue = TrainerQueue(1, lock_dir=sys.argv[1])
ticket = queue.join()
assert queue.acquire(ticket)
print("holding", flush=True)
sys.stdin.read()  # until the test closes our stdin
"""


def test_processes_of_one_server_share_the_slots_through_lock_files(tmp_path):
    other = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], cwd=state.PROJECT_ROOT,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "holding"
        here = TrainerQueue(1, lock_dir=str(tmp_path))
        ticket = here.join()
        assert not here.acquire(ticket, timeout=0.3)  # the other process trains
        assert here.position(ticket) == (1, 1)
    finally:
        other.stdin.close()
        other.wait(timeout=30)
    deadline = time.monotonic() + 10
    while not here.acquire(ticket, timeout=0.1):  # its lock went with it
        assert time.monotonic() < deadline
    here.leave(ticket)
    again = here.join()
    assert here.acquire(again, timeout=1)  # leaving gave the file's lock back
