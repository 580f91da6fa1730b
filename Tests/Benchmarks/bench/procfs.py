"""What the kernel says about processes and sockets (/proc): CPU times, context switches, TCP counters, memory,
CPU affinity, socket inodes."""

import os
import re


def stat_fields(pid):
    """The fields of /proc/PID/stat after the command name (state first), or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_times(pids):
    """(all, kernel's share) of these processes' CPU time in seconds: utime+stime (+cutime+cstime: children
    already waited for), and stime+cstime."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = kernel = 0
    for pid in pids:
        try:
            utime, stime, cutime, cstime = (int(x) for x in stat_fields(pid)[11:15])
        except (TypeError, ValueError):  # no such process (None), or a short line
            continue
        total += utime + stime + cutime + cstime
        kernel += stime + cstime
    return total / ticks, kernel / ticks


def cpu_busy():
    """Per-CPU (busy, total) jiffies from /proc/stat (busy includes steal)."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            m = re.match(r"cpu(\d+) (.*)", line)
            if m:
                v = [int(x) for x in m.group(2).split()]
                user, nice, system, idle, iowait, irq, softirq, steal = (v + [0] * 8)[:8]
                busy = user + nice + system + irq + softirq + steal
                out[int(m.group(1))] = (busy, busy + idle + iowait)
    return out


def busy_fractions(a, b):
    """Each CPU's busy share between two `cpu_busy()` readings."""
    return [round((b[c][0] - a[c][0]) / max(1, b[c][1] - a[c][1]), 3) for c in sorted(b)]


def voluntary_switches(pids):
    """Times these processes' threads gave up the CPU to wait (voluntary context switches, /proc/PID/task/*/status):
    for an event loop, how often it found nothing to do and slept."""
    total = 0
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            total += status_value(f"{pid}/task/{task}", "voluntary_ctxt_switches")
    return total


def tcp_counter(name):
    """One of the kernel's TCP counters in /proc/net/snmp, all sockets: OutSegs (segments sent; on loopback every
    segment is sent once and received once), OutRsts (resets sent)."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Tcp:")]
    return int(rows[1][rows[0].index(name)])


def tcp_snapshot():
    """The TCP counters a connection scenario reports per connection, now: OutSegs, OutRsts."""
    return {name: tcp_counter(name) for name in ("OutSegs", "OutRsts")}


def tcp_per_connection(before, loadgen):
    """TCP segments and resets sent on the machine while tlsload ran, per connection it completed (warm-up
    included). Segments: on loopback every one is sent once and received once, by the daemon or its peers, so
    fewer means less kernel work on both sides. Resets: a daemon that closes before reading the client's
    close_notify gets about one, since the client's close_notify meets a closed socket and the kernel answers with
    a reset. None without connections."""
    connections = loadgen.get("ops_total") or 0
    if not connections:
        return {"tcp_segments_per_conn": None, "tcp_resets_per_conn": None}
    now = tcp_snapshot()
    return {"tcp_segments_per_conn": round((now["OutSegs"] - before["OutSegs"]) / connections, 2),
            "tcp_resets_per_conn": round((now["OutRsts"] - before["OutRsts"]) / connections, 3)}


def status_value(pid, key):
    """The number on the `key:` line of /proc/PID/status (kB for the memory lines); 0 if the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid):
    """The process's proportional set size in KiB (shared pages divided among their sharers); 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_list(text):
    """The CPUs of a list like "0", "0-1", "0,2-3" (Cpus_allowed_list, taskset -c); empty set if unreadable."""
    cpus = set()
    try:
        for part in text.split(","):
            first, _, last = part.partition("-")
            cpus.update(range(int(first), int(last or first) + 1))
    except ValueError:
        return set()
    return cpus


LISTEN, TIME_WAIT = "0A", "06"


def tcp_sockets():
    """(state, local port, remote port, inode) of every TCP socket on the machine (/proc/net/tcp, tcp6; the state
    as the kernel writes it: "01" established, "06" TIME_WAIT, "0A" LISTEN, ...)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    found.append((fields[3], int(fields[1].rsplit(":", 1)[1], 16),
                                  int(fields[2].rsplit(":", 1)[1], 16), fields[9]))
        except (OSError, IndexError, ValueError, StopIteration):
            pass
    return found


def listening_inodes(port):
    """Socket inodes of the TCP sockets listening on this port."""
    return {inode for state, local_port, _, inode in tcp_sockets() if state == LISTEN and local_port == port}


def connections_closing(ports):
    """TCP sockets of these ports (local or remote) that are neither listening nor in TIME_WAIT: connections
    still open, or still being closed (FIN_WAIT, CLOSE_WAIT, LAST_ACK, ...). 0 once a run's connections are gone;
    TIME_WAIT costs nothing until its timer ends."""
    return sum(1 for state, local_port, remote_port, _ in tcp_sockets()
               if state not in (LISTEN, TIME_WAIT) and (local_port in ports or remote_port in ports))


def connections_held(pids):
    """How many TCP connections (sockets not listening) these processes hold open."""
    connections = {inode for state, _, _, inode in tcp_sockets() if state != LISTEN}
    return sum(len(socket_inodes(pid) & connections) for pid in pids)


def socket_inodes(pid):
    """Inodes of the sockets this process holds."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    except OSError:
        pass
    return inodes


def cpus_allowed(pid):
    """The CPUs the process may run on, as /proc shows them ("0", "0-1"), or "?"."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Cpus_allowed_list:"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"
