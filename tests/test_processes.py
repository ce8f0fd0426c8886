"""The tests' process helpers: a timed-out command is killed with its own children."""

import os
import sys
import time

import pytest
from processes import run_group


def test_a_timed_out_command_is_killed_with_its_children(tmp_path):
    pid_file = tmp_path / "child.pid"
    script = ("import subprocess, sys, time; "
              f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
              f"open({str(pid_file)!r}, 'w').write(str(p.pid)); time.sleep(60)")
    with pytest.raises(AssertionError, match="timed out after 2 s; killed its process group"):
        run_group([sys.executable, "-c", script], timeout=2)
    child = int(pid_file.read_text())
    for _ in range(50):  # the kill is asynchronous: give it a moment
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        if open(f"/proc/{child}/stat").read().split()[2] == "Z":  # a zombie is dead (its parent was killed too)
            return
        time.sleep(0.1)
    pytest.fail(f"the grandchild {child} outlived the timeout")


def test_a_failing_command_reports_its_stderr():
    with pytest.raises(AssertionError, match="exited with 3\nboom"):
        run_group([sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"], timeout=30)
