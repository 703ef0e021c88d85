"""Shared parts of the benchmark scripts: machine details, child processes, table writing."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def machine() -> list[str]:
    """Markdown lines describing the machine and the versions that matter."""
    import gemmi
    import numpy
    import torch

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    gpu = "none"
    if torch.cuda.is_available():
        gpu = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return [
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- CPU: {cpu}, {os.cpu_count()} cores; RAM {mem:.0f} GiB; GPU: {gpu}",
        f"- load average before the run (1, 5, 15 min): {load}",
        f"- {platform.platform()}",
        f"- python {platform.python_version()}, numpy {numpy.__version__}, "
        f"gemmi {gemmi.__version__}, torch {torch.__version__}",
    ]


def run_child(script: str, *args: str, timeout: int = 1800) -> dict:
    """Run ``script --child args...`` in a fresh process; its last stdout line is JSON."""
    out = subprocess.run([sys.executable, script, "--child", *args], capture_output=True,
                         text=True, timeout=timeout)  # fmt: skip
    if out.returncode:
        raise RuntimeError(f"{script} {args}: {out.stderr.strip()[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def write(text: str, out: str) -> None:
    """Print ``text``, and write it to ``out`` unless it is '-'."""
    print(text)
    if out != "-":
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text)
        print(f"wrote {out}")


#: The heading under which a report keeps the runs written to its file before.
EARLIER = "## Earlier runs (as they were written)"


def report(title: str, intro: list[str], table: list[str], out: str, tail: str = "") -> None:
    """Write a benchmark's markdown: title, how it was run, the machine, the table; what the
    file held before (earlier runs, notes added by hand) is kept below :data:`EARLIER`."""
    lines = [f"# {title}", "", *intro, "", *machine(), "", *table, ""]
    if tail:
        lines += [tail, ""]
    text = "\n".join(lines)
    if out != "-" and Path(out).exists():
        old = Path(out).read_text().splitlines()
        if old and old[0].startswith("# "):
            old = old[1:]  # its title: the new report's
        body = "\n".join(line for line in old if line != EARLIER).strip()
        if body:
            text += f"\n{EARLIER}\n\n{body}\n"
    write(text, out)
