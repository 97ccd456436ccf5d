# SPDX-License-Identifier: Apache-2.0
"""One watch: which events a watcher is sent, and when its stream ends.

The events are the store's, filtered by namespace and selectors the way
the real server's watch cache filters them: an object that stops matching
a selector is DELETED for that watcher, one that starts matching is ADDED.
Bookmarks carry the revision up to which every event has been sent.
"""

import select
import time

from . import errors


class Watcher:
    """A watch in progress, as the test-control endpoints see it."""

    def __init__(self, resource, connection):
        self.resource = resource
        self.connection = connection
        self.dropped = False
        self.ended = False
        self.bookmark_now = False


def initial_events(store, kind, prefix, matches):
    """The synthetic ADDED events of a watch from "" or "0"."""
    return [("ADDED", obj) for key, obj in store.items(kind.resource)
            if key.startswith(prefix) and matches(obj)]


def translate(event, kind, prefix, matches):
    """The event this watcher sees for a store event, or None."""
    if event.resource != kind.resource or not event.key.startswith(prefix):
        return None
    if event.type == "ADDED":
        return ("ADDED", event.obj) if matches(event.obj) else None
    if event.type == "DELETED":
        return ("DELETED", event.obj) if matches(event.prev) else None
    now, before = matches(event.obj), matches(event.prev)
    if now and before:
        return ("MODIFIED", event.obj)
    if now:
        return ("ADDED", event.obj)
    if before:
        return ("DELETED", event.obj)
    return None


def too_old(asked, compacted):
    return errors.expired(f"too old resource version: {asked} ({compacted})")


def client_gone(connection):
    """True once the client has closed its end (or sent anything at all).

    A watching client sends nothing until the stream ends, so readable
    means EOF or a TLS close_notify: either way nobody is listening.
    """
    try:
        readable, _, _ = select.select([connection], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class Stream:
    """Runs one watch: `write(type, obj)` sends an event and may raise."""

    def __init__(self, store, kind, prefix, matches, watcher, start_rv,
                 timeout, bookmark_interval, bookmarks):
        self.store = store
        self.kind = kind
        self.prefix = prefix
        self.matches = matches
        self.watcher = watcher
        self.cursor = start_rv
        self.deadline = (time.monotonic() + timeout) if timeout else None
        self.interval = bookmark_interval
        self.bookmarks = bookmarks

    def run(self, write):
        """Sends events until a clean end (True: timeout, end-watches) or
        an abrupt one (False: drop-watches, the client gone)."""
        next_bookmark = time.monotonic() + self.interval
        while True:
            now = time.monotonic()
            wait = min(0.25, max(0.0, next_bookmark - now))
            if self.deadline is not None:
                wait = min(wait, max(0.0, self.deadline - now))
            with self.store.cond:
                if not (self.store.rv > self.cursor or self.watcher.dropped or
                        self.watcher.ended or self.watcher.bookmark_now):
                    self.store.cond.wait(wait)
                events = self.store.events_after(self.cursor)
                self.cursor = max(self.cursor, self.store.rv)
                dropped = self.watcher.dropped
                ended = self.watcher.ended
                bookmark_now = self.watcher.bookmark_now
                self.watcher.bookmark_now = False
            if dropped:
                return False
            for event in events:
                seen = translate(event, self.kind, self.prefix, self.matches)
                if seen is not None:
                    write(*seen)
            now = time.monotonic()
            if ended or (self.deadline is not None and now >= self.deadline):
                return True
            if self.bookmarks and (bookmark_now or now >= next_bookmark):
                write("BOOKMARK", self.kind.bookmark(self.cursor))
            if now >= next_bookmark:
                next_bookmark = now + self.interval
            if client_gone(self.watcher.connection):
                return False
