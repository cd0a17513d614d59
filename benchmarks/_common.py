"""Helpers shared by the benchmark scripts: timing and a table printer."""
import os, platform, statistics, time


def best_of(fn, repeat: int = 5) -> float:
    "Fastest of `repeat` runs of `fn()`, in seconds (the least disturbed by other work on the machine)."
    times = []
    for _ in range(repeat):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    return min(times)


def machine() -> str:
    "One line naming the machine: CPU model, cores, Python."
    cpu = platform.processor() or 'unknown CPU'
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'): cpu = line.split(':', 1)[1].strip(); break
    except OSError: pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def table(header: list, rows: list) -> str:
    "A Markdown table."
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    fmt = lambda r: '| ' + ' | '.join(c.rjust(w) for c, w in zip(r, widths)) + ' |'
    return '\n'.join([fmt(cells[0]), '|' + '|'.join('-' * (w + 2) for w in widths) + '|'] + [fmt(r) for r in cells[1:]])
