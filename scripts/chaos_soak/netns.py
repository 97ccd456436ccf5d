# SPDX-License-Identifier: Apache-2.0
# Sockets made inside the lab's network namespaces. A socket belongs to the
# namespace it was created in for its whole life, whichever thread uses it
# later, so the calling thread steps into the namespace (setns) only for
# the socket() call and straight back out.
import ctypes
import os
import socket
import threading

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd):
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


class Namespaces:
    """Opens sockets in /run/netns/NAME namespaces, from any thread."""

    def __init__(self):
        # Every thread of this process starts in the host's namespace.
        self._home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        self._fds = {}
        self._lock = threading.Lock()

    def _fd(self, name):
        with self._lock:
            if name not in self._fds:
                self._fds[name] = os.open(f"/run/netns/{name}", os.O_RDONLY | os.O_CLOEXEC)
            return self._fds[name]

    def socket(self, name, kind):
        """A non-blocking IPv4 socket of `kind` (SOCK_STREAM, SOCK_DGRAM) in `name`."""
        fd = self._fd(name)
        _setns(fd)
        try:
            sock = socket.socket(socket.AF_INET, kind)
        finally:
            _setns(self._home)
        sock.setblocking(False)
        return sock

    def forget(self, name):
        """Lets a removed namespace go (its fd would keep it alive)."""
        with self._lock:
            fd = self._fds.pop(name, None)
        if fd is not None:
            os.close(fd)
