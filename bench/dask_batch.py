#!/usr/bin/python3
"""dask_batch.py - `acegate check --batch` (or `screen --batch`) over the
partitions of a JSONL file on a Dask distributed cluster.

The batch commands are line filters: each partition of the input (a range
of whole lines) goes to a worker, which pipes it through its own `acegate
... --batch` process and returns the answer lines; the client puts them
back in input order. Rejected lines carry their line number within the
partition, so the client adds the partition's first line: the merged
output is what one process gives for the whole file, except for the audit
ids, which each worker's own log gives (every answer is still recorded
before it is returned, 15 CFR 762.2: in the worker's log, --log-dir; without
it in memory only, for trials). Input, answers and logs are files on a file
system the client and the workers share (loopback here; NFS or the like on
a real cluster).

Without --scheduler it starts a LocalCluster of --workers processes on
loopback. It prints, on stderr, the lines per second of the whole run and
of each worker (the lines it answered over the time its tasks ran), and
with --baseline the same file through one process, timed side by side.

Usage: bench/dask_batch.py --acegate build/acegate --input in.jsonl
           [--output out.jsonl] [--workers N] [--partitions P]
           [--command check|screen] [--log-dir DIR] [--work-dir DIR] [--baseline]
           [--scheduler tcp://HOST:PORT] [-- ACEGATE-OPTIONS...]
Needs Debian's python3-distributed (run with /usr/bin/python3).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ERROR_LINE = re.compile(rb'^\{"line":([0-9]+),')


def partition(path, parts):
    """Byte ranges of whole lines, about equal in size, each with the
    number of the line it starts on (1-based, as acegate counts)."""
    size = os.path.getsize(path)
    ranges = []
    with open(path, "rb") as f:
        start, line = 0, 1
        for k in range(1, parts + 1):
            end = size if k == parts else max(start, size * k // parts)
            if end < size:
                f.seek(end)
                f.readline()  # to the end of the line the cut falls in
                end = f.tell()
            if end > start:
                f.seek(start)
                ranges.append((start, end, line))
                line += f.read(end - start).count(b"\n")
            start = end
    return ranges


def run_partition(acegate, command, options, path, start, end, first_line, log_dir, out_dir,
                  index):
    """On a worker: the partition's lines through one acegate process, the
    answers written to out_dir/part-NNNNN.jsonl (the answers go through the
    file system, as Hadoop's part files do, not through the scheduler)."""
    import socket

    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(end - start)
    db = os.path.join(log_dir, "part-%05d.db" % index) if log_dir else ":memory:"
    part = os.path.join(out_dir, "part-%05d.jsonl" % index)
    began = time.monotonic()
    with open(part, "wb") as out:
        p = subprocess.run([acegate, command, "--batch", "--db", db] + list(options), input=data,
                           stdout=out, stderr=subprocess.PIPE)
    took = time.monotonic() - began
    if p.returncode not in (0, 2, 7):  # 2: some line rejected, 7: --fail-on
        raise RuntimeError("partition %d: acegate exit %d: %s" %
                           (index, p.returncode, p.stderr.decode(errors="replace")[:500]))
    lines = 0
    if p.returncode == 2:  # rejected lines: the partition's line number -> the file's
        os.rename(part, part + ".raw")
        with open(part + ".raw", "rb") as raw, open(part, "wb") as out:
            for line in raw:
                m = ERROR_LINE.match(line)
                if m:
                    line = b'{"line":%d,' % (int(m.group(1)) + first_line - 1) + line[m.end():]
                out.write(line)
                lines += 1
        os.unlink(part + ".raw")
    else:
        with open(part, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                lines += block.count(b"\n")
    return {"index": index, "part": part, "lines": lines, "seconds": took, "rc": p.returncode,
            "worker": "%s/%d" % (socket.gethostname(), os.getpid())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--acegate", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--output", default="-")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--partitions", type=int, default=0, help="default: 4 per worker")
    ap.add_argument("--command", choices=("check", "screen"), default="check")
    ap.add_argument("--log-dir", default="", help="each partition's audit log goes here")
    ap.add_argument("--work-dir", default="",
                    help="the partitions' answers (default: a temporary directory)")
    ap.add_argument("--scheduler", default="", help="an existing cluster instead of a local one")
    ap.add_argument("--baseline", action="store_true", help="time one process on the same file")
    ap.add_argument("options", nargs="*", help="more acegate options, after --")
    a = ap.parse_args()

    from dask.distributed import Client, LocalCluster

    acegate = os.path.abspath(a.acegate)
    path = os.path.abspath(a.input)
    parts = partition(path, a.partitions or 4 * a.workers)
    tmp = None
    if not a.work_dir:
        tmp = tempfile.TemporaryDirectory()
    work = os.path.abspath(a.work_dir or tmp.name)
    cluster = None
    if a.scheduler:
        client = Client(a.scheduler)
    else:
        cluster = LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
        client = Client(cluster)
    try:
        client.wait_for_workers(a.workers)
        began = time.monotonic()
        log_dir = os.path.abspath(a.log_dir) if a.log_dir else ""
        futures = [client.submit(run_partition, acegate, a.command, a.options, path, s, e, first,
                                 log_dir, work, i, pure=False)
                   for i, (s, e, first) in enumerate(parts)]
        results = sorted(client.gather(futures), key=lambda r: r["index"])
        wall = time.monotonic() - began
    finally:
        client.close()
        if cluster:
            cluster.close()

    out = sys.stdout.buffer if a.output == "-" else open(a.output, "wb")
    lines = 0
    for r in results:  # in partition order: the input's order
        with open(r["part"], "rb") as f:
            while True:
                block = f.read(1 << 20)
                if not block:
                    break
                out.write(block)
        lines += r["lines"]
    if out is not sys.stdout.buffer:
        out.close()
    if tmp:
        tmp.cleanup()

    per = {}
    for r in results:
        w = per.setdefault(r["worker"], [0, 0.0, 0])
        w[0] += r["lines"]
        w[1] += r["seconds"]
        w[2] += 1
    err = sys.stderr
    print("dask: %d lines, %d partitions, %d workers: %.2f s, %.0f lines/s" %
          (lines, len(parts), len(per), wall, lines / wall if wall else 0), file=err)
    for name, (n, secs, tasks) in sorted(per.items()):
        print("  worker %s: %d lines in %d partitions, %.2f s busy, %.0f lines/s" %
              (name, n, tasks, secs, n / secs if secs else 0), file=err)
    if a.baseline:
        with open(path, "rb") as f, tempfile.TemporaryDirectory() as tmp:
            t0 = time.monotonic()
            p = subprocess.run([acegate, a.command, "--batch", "--db",
                                os.path.join(tmp, "one.db")] + list(a.options),
                               stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            one = time.monotonic() - t0
        print("one process: %.2f s, %.0f lines/s (exit %d); dask / one process: %.2fx" %
              (one, lines / one if one else 0, p.returncode, one / wall if wall else 0), file=err)
    # the exit status acegate would give: 2 when a line was rejected
    worst = max((r["rc"] for r in results), default=0)
    return 2 if any(r["rc"] == 2 for r in results) else worst


if __name__ == "__main__":
    sys.exit(main())
