"""A small synchronous driver for a real kernel over the Jupyter protocol."""

import time
from dataclasses import dataclass, field
from queue import Empty

from jupyter_client.manager import start_new_kernel

KERNEL_NAME = "loopscope"


@dataclass
class Execution:
    reply: dict
    messages: list = field(default_factory=list)  # iopub (msg_type, content)

    @property
    def status(self):
        return self.reply["status"]

    def of_type(self, msg_type):
        return [c for t, c in self.messages if t == msg_type]

    def stream(self, name="stdout"):
        return "".join(c["text"] for c in self.of_type("stream") if c["name"] == name)

    @property
    def error(self):
        errors = self.of_type("error")
        return errors[0] if errors else None


class KernelSession:
    def __init__(self, km, kc, startup_seconds):
        self.km = km
        self.kc = kc
        self.startup_seconds = startup_seconds

    @classmethod
    def start(cls, name=KERNEL_NAME, timeout=60):
        t0 = time.perf_counter()
        km, kc = start_new_kernel(kernel_name=name, startup_timeout=timeout)
        return cls(km, kc, time.perf_counter() - t0)

    def collect(self, msg_id, timeout=60, stdin_handler=None):
        """Gather iopub messages of one request until it is idle, then its reply."""
        messages = []
        deadline = time.monotonic() + timeout
        next_check = time.monotonic() + 1.0
        idle = False
        while not idle:
            if stdin_handler is not None:
                try:
                    req = self.kc.get_stdin_msg(timeout=0.01)
                    self.kc.input(stdin_handler(req["content"]))
                except Empty:
                    pass
            try:
                msg = self.kc.get_iopub_msg(timeout=0.05)
            except Empty:
                now = time.monotonic()
                if now > deadline:
                    raise TimeoutError(f"no idle status for {msg_id} after {timeout}s")
                if now > next_check:  # a dead kernel never goes idle: say so at once
                    next_check = now + 1.0
                    if not self.km.is_alive():
                        raise RuntimeError("the kernel died")
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "status":
                idle = msg["content"]["execution_state"] == "idle"
                continue
            if kind == "execute_input":
                continue
            messages.append((kind, msg["content"]))
        while True:
            reply = self.kc.get_shell_msg(timeout=max(1.0, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == msg_id:
                return Execution(reply["content"], messages)

    def execute(self, code, timeout=60, stdin_handler=None, **kwargs):
        if stdin_handler is not None:
            kwargs["allow_stdin"] = True
        msg_id = self.kc.execute(code, **kwargs)
        return self.collect(msg_id, timeout=timeout, stdin_handler=stdin_handler)

    def shutdown(self):
        try:
            self.kc.stop_channels()
        finally:
            self.km.shutdown_kernel(now=False)
