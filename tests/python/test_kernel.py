"""The Loopscope kernel behaves as a good Python kernel, driven over the
Jupyter protocol through jupyter_client."""

import os
import re
import signal
import time

import pytest

from kernel_session import KernelSession


def test_startup_time_is_reported(kernel, measure):
    # Printed, not asserted tightly: machines are shared and noisy.
    measure("kernel start-up", kernel.startup_seconds, "s")
    assert kernel.startup_seconds < 60


def test_execution_counts_increase(kernel):
    first = kernel.execute("a_value = 40")
    second = kernel.execute("a_value += 2")
    assert first.status == "ok" and second.status == "ok"
    assert second.reply["execution_count"] == first.reply["execution_count"] + 1
    silent = kernel.execute("a_value", silent=True)
    assert silent.of_type("execute_result") == []
    third = kernel.execute("a_value")
    assert third.reply["execution_count"] == second.reply["execution_count"] + 1


def test_execute_result(kernel):
    ex = kernel.execute("6 * 7")
    (result,) = ex.of_type("execute_result")
    assert result["data"]["text/plain"] == "42"
    assert result["execution_count"] == ex.reply["execution_count"]


def test_streams_are_coalesced_and_ordered(kernel):
    ex = kernel.execute("import sys\nfor i in range(200): print(i)\nprint('err', file=sys.stderr)")
    out = ex.of_type("stream")
    assert ex.stream("stdout") == "".join(f"{i}\n" for i in range(200))
    assert ex.stream("stderr") == "err\n"
    # One message per burst of output, not one per write() call.
    assert len([m for m in out if m["name"] == "stdout"]) <= 3
    # No message split into single characters.
    assert all(len(m["text"]) > 1 for m in out)


def test_output_order_around_display_and_errors(kernel):
    ex = kernel.execute(
        "from IPython.display import display, HTML\n"
        "print('before')\n"
        "display(HTML('<b>shown</b>'))\n"
        "print('after')\n"
        "raise ValueError('boom')"
    )
    kinds = [t for t, _ in ex.messages]
    assert kinds == ["stream", "display_data", "stream", "error"], kinds
    assert ex.messages[0][1]["text"] == "before\n"
    assert ex.messages[1][1]["data"]["text/html"] == "<b>shown</b>"
    assert ex.messages[2][1]["text"] == "after\n"


def test_errors_carry_class_name_and_traceback(kernel):
    ex = kernel.execute("def f():\n    return 1 / 0\nf()")
    assert ex.status == "error"
    assert ex.reply["ename"] == "ZeroDivisionError"
    assert ex.error["ename"] == "ZeroDivisionError"
    assert ex.error["evalue"] == "division by zero"
    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(ex.error["traceback"]))
    assert "return 1 / 0" in text and "f()" in text
    custom = kernel.execute("class MyError(Exception): pass\nraise MyError('x')")
    assert custom.reply["ename"] == "MyError"
    syntax = kernel.execute("def broken(:\n  pass")
    assert syntax.reply["ename"] == "SyntaxError"
    # The kernel is still alive and keeps its state.
    assert kernel.execute("print('alive')").stream() == "alive\n"


def test_rich_display(kernel):
    ex = kernel.execute(
        "from IPython.display import display, Markdown, JSON\n"
        "display(Markdown('# Title'))\n"
        "display({'text/plain': 'raw', 'application/json': {'a': 1}}, raw=True)"
    )
    data = [m["data"] for m in ex.of_type("display_data")]
    assert data[0]["text/markdown"] == "# Title"
    assert data[1]["application/json"] == {"a": 1}


def test_clear_output(kernel):
    ex = kernel.execute("from IPython.display import clear_output\nprint('x')\nclear_output(wait=True)")
    kinds = [t for t, _ in ex.messages]
    assert kinds == ["stream", "clear_output"]


def test_input(kernel):
    prompts = []

    def answer(content):
        prompts.append(content["prompt"])
        return "Ada"

    ex = kernel.execute("print('first')\nname = input('Name? ')\nprint('Hello', name)", stdin_handler=answer)
    assert ex.status == "ok"
    assert prompts == ["Name? "]
    assert ex.stream() == "first\nHello Ada\n"


def test_interrupt_busy_loop_keeps_state(kernel, measure):
    kernel.execute("kept = [1, 2, 3]")
    msg_id = kernel.kc.execute("while True:\n    pass")
    time.sleep(1.0)
    t0 = time.perf_counter()
    kernel.km.interrupt_kernel()
    ex = kernel.collect(msg_id, timeout=20)
    elapsed = time.perf_counter() - t0
    measure("interrupt latency, Python loop", elapsed * 1000, "ms")
    assert ex.status == "error"
    assert ex.reply["ename"] == "KeyboardInterrupt"
    after = kernel.execute("print(sum(kept))")
    assert after.status == "ok" and after.stream() == "6\n"


def test_interrupt_works_when_the_kernel_inherits_sigint_ignored():
    # A server started in the background by a non-interactive shell (nohup,
    # `jupyter lab &` in a script) passes SIGINT ignored to its kernels.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        session = KernelSession.start()
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        msg_id = session.kc.execute("while True:\n    pass")
        time.sleep(1.0)
        session.km.interrupt_kernel()
        ex = session.collect(msg_id, timeout=20)
        assert ex.status == "error" and ex.reply["ename"] == "KeyboardInterrupt"
    finally:
        session.shutdown()


def test_interrupt_while_idle_is_harmless(kernel):
    kernel.km.interrupt_kernel()
    time.sleep(0.3)
    ex = kernel.execute("print('still fine')")
    assert ex.status == "ok" and ex.stream() == "still fine\n"


def test_environment_is_the_projects_venv(kernel, repo_root):
    ex = kernel.execute(
        "import sys, numpy, loopscope\n" "print(sys.executable)\nprint(sys.prefix)\nprint(sys.version_info[:2])"
    )
    lines = ex.stream().splitlines()
    assert lines[0] == os.path.join(repo_root, ".venv", "bin", "python3")
    assert lines[1] == os.path.join(repo_root, ".venv")
    assert lines[2] == "(3, 11)"


def test_kernel_info(kernel):
    kernel.kc.kernel_info()
    reply = kernel.kc.get_shell_msg(timeout=10)["content"]
    assert reply["implementation"] == "loopscope"
    assert reply["language_info"]["name"] == "python"
    assert reply["language_info"]["version"].startswith("3.11.")
    assert reply["status"] == "ok"
    # As ipykernel: IPython highlighting (magics) and export as a script.
    assert reply["language_info"]["codemirror_mode"] == {"name": "ipython", "version": 3}
    assert reply["language_info"]["pygments_lexer"] == "ipython3"
    assert reply["language_info"]["nbconvert_exporter"] == "python"
    assert reply["language_info"]["file_extension"] == ".py"


@pytest.mark.parametrize(
    "code,stdout,exits",
    [
        ("print('before')\nexit()\nprint('after')", "before\nafter\n", True),
        ("quit()", "", True),
        ("exit", "", True),  # autocalled on a line of its own
        ("print('before')\nexit\nprint('after')", "before\nafter\n", False),  # a name inside a cell
    ],
)
def test_exit_ends_the_kernel_as_ipykernel_does(code, stdout, exits):
    # ipykernel: the rest of the cell runs, the reply is ok with the
    # ask_exit payload, then the process ends (the server restarts it).
    session = KernelSession.start()
    try:
        ex = session.execute(code)
        assert ex.status == "ok", ex.error
        assert ex.stream() == stdout
        assert ex.reply.get("payload", []) == ([{"source": "ask_exit", "keepkernel": False}] if exits else [])
        deadline = time.time() + (10 if exits else 1.5)
        while session.km.is_alive() and time.time() < deadline:
            time.sleep(0.1)
        assert session.km.is_alive() != exits
    finally:
        session.shutdown()


def test_the_teaching_stack_is_there(kernel):
    # The first cells of most lessons: inline plots, a table, SciPy.
    ex = kernel.execute("%matplotlib inline")
    assert ex.status == "ok", ex.error
    ex = kernel.execute("import matplotlib.pyplot as plt\nplt.plot([1, 4, 9])\nplt.show()")
    assert ex.status == "ok", ex.error
    assert any("image/png" in d["data"] for d in ex.of_type("display_data"))
    ex = kernel.execute("import pandas as pd\npd.DataFrame({'n': [1, 2]})")
    assert ex.status == "ok", ex.error
    assert any("text/html" in d["data"] for d in ex.of_type("execute_result"))
    ex = kernel.execute("from scipy import integrate\nround(integrate.quad(lambda x: x * x, 0, 1)[0], 6)")
    assert ex.status == "ok", ex.error
    assert [d["data"]["text/plain"] for d in ex.of_type("execute_result")] == ["0.333333"]


def test_ipywidgets_open_a_comm(kernel):
    ex = kernel.execute("import ipywidgets as w\ns = w.IntSlider(value=3)\ns")
    assert ex.status == "ok", ex.error
    opens = ex.of_type("comm_open")
    assert opens, "creating a widget must open a comm"
    assert any(o["target_name"] == "jupyter.widget" for o in opens)
    views = [d["data"] for d in ex.of_type("execute_result")]
    assert any("application/vnd.jupyter.widget-view+json" in d for d in views)


def test_restart_clears_state():
    session = KernelSession.start()
    try:
        session.execute("restart_marker = 1")
        session.km.restart_kernel(now=False)
        session.kc.wait_for_ready(timeout=60)
        ex = session.execute("print('restart_marker' in globals())")
        assert ex.stream() == "False\n"
    finally:
        session.shutdown()


def test_completion_has_types_and_signatures(kernel):
    """As ipykernel: the matches, and in the metadata JupyterLab reads each
    one's type and signature."""
    kernel.execute("import numpy as np\ndef helper_fn(x, scale=2):\n    return x * scale\nhelper_value = 3")
    kernel.kc.complete("np.ara", 6)
    reply = kernel.kc.get_shell_msg(timeout=30)["content"]
    assert reply["status"] == "ok" and "arange" in reply["matches"]
    assert (reply["cursor_start"], reply["cursor_end"]) == (3, 6)
    types = {c["text"]: c for c in reply["metadata"]["_jupyter_types_experimental"]}
    assert types["arange"]["type"] == "function"
    kernel.kc.complete("helper_", 7)
    reply = kernel.kc.get_shell_msg(timeout=30)["content"]
    types = {c["text"]: c for c in reply["metadata"]["_jupyter_types_experimental"]}
    assert types["helper_fn"]["type"] == "function" and types["helper_fn"]["signature"] == "(x, scale=2)"
    assert types["helper_value"]["type"] == "instance"
    kernel.kc.complete("", 0)
    assert kernel.kc.get_shell_msg(timeout=30)["content"]["status"] == "ok"
