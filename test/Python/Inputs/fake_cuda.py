"""A stand-in for torch's CUDA timing in the bench tests (no torch, no
GPU): events read a simulated clock, which calls advance by what they
would take. `calls` lists what ran, in order."""
import types

clock = [0.0]
calls = []


class Event:
    def __init__(self, enable_timing=False):
        self.t = None

    def record(self):
        self.t = clock[0]

    def elapsed_time(self, end):
        return end.t - self.t


class Flush:
    """The L2 flush buffer: zero_() takes 0.1 ms."""

    def zero_(self):
        calls.append("flush")
        clock[0] += 0.1


def sleep(cycles):
    """torch.cuda._sleep: 0.2 ms whatever the cycles."""
    calls.append("sleep")
    clock[0] += 0.2


cuda = types.SimpleNamespace(Event=Event, synchronize=lambda: None,
                             _sleep=sleep)
torch = types.SimpleNamespace(cuda=cuda, int8="int8",
                              empty=lambda *a, **k: Flush())
