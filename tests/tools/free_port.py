#!/usr/bin/python3
"""free_port.py: print a TCP port of 127.0.0.1 that is free now and that
the kernel never hands out by itself.

A port from bind(("127.0.0.1", 0)) comes from the ephemeral range
(/proc/sys/net/ipv4/ip_local_port_range), which is also where every
outgoing connection's local port comes from: between this check and the
test server's own bind, one of the suite's many client connections may
take it (EADDRINUSE, a server that never starts).  A port below that
range is never taken that way, so the port is drawn at random from
[10000, low end) until one binds; the kernel's own choice only when the
range leaves no room below it.  Importable (free_port()) or run.
"""
import random
import socket

FLOOR = 10000


def _bindable(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 0
    rng = random.SystemRandom()
    if low > FLOOR + 1000:
        for _ in range(500):
            p = rng.randrange(FLOOR, low)
            if _bindable(p):
                return p
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


if __name__ == "__main__":
    print(free_port())
