# SPDX-License-Identifier: Apache-2.0
"""The versioned object store: etcd's model, shrunk to what watches need.

One revision counter for every kind (etcd's revision): each write takes the
next number, and that number is the object's resourceVersion. Every write
is kept as an event, with the state it replaced, from the compaction point
on; that history serves watches from any resourceVersion after it and lists
at an exact resourceVersion (continued pages). Before it, both are 410.

Stored objects are never mutated: a write stores a new dict, so events and
snapshots can share them without copies. Everything here runs under the
store's condition variable, which also wakes watchers on each write.
"""

import bisect
import collections
import threading

from . import meta

Event = collections.namedtuple("Event", "rv resource key type obj prev")


class Store:

    def __init__(self, history_limit=0):
        self.cond = threading.Condition()
        self.rv = 0
        self.compacted_rv = 0
        self._objects = collections.defaultdict(dict)
        self._log = []
        self._log_rvs = []
        self._history_limit = history_limit

    # --- reads (caller holds self.cond) -------------------------------------

    def get(self, resource, key):
        return self._objects[resource].get(key)

    def items(self, resource):
        """Current objects of `resource` in key order, as etcd lists them."""
        objects = self._objects[resource]
        return [(k, objects[k]) for k in sorted(objects)]

    def snapshot(self, resource, rv):
        """Objects of `resource` as they were at revision `rv`, in key order.

        The caller checks compacted_rv <= rv <= self.rv first.
        """
        state = dict(self._objects[resource])
        start = bisect.bisect_right(self._log_rvs, rv)
        for event in reversed(self._log[start:]):
            if event.resource != resource:
                continue
            if event.prev is None:
                state.pop(event.key, None)
            else:
                state[event.key] = event.prev
        return [(k, state[k]) for k in sorted(state)]

    def events_after(self, rv):
        """Every event with a revision after `rv`, oldest first."""
        return self._log[bisect.bisect_right(self._log_rvs, rv):]

    # --- writes (caller holds self.cond) ------------------------------------

    def put(self, resource, key, obj):
        """Stores `obj` (ADDED or MODIFIED) at the next revision."""
        prev = self._objects[resource].get(key)
        rv = self.rv + 1
        obj["metadata"]["resourceVersion"] = str(rv)
        obj = meta.canonical_order(obj)
        self._objects[resource][key] = obj
        self._record(Event(rv, resource, key,
                           "ADDED" if prev is None else "MODIFIED", obj, prev))
        return obj

    def delete(self, resource, key, last):
        """Removes `key`; the DELETED event carries `last` at a new revision."""
        prev = self._objects[resource].pop(key)
        rv = self.rv + 1
        last["metadata"]["resourceVersion"] = str(rv)
        self._record(Event(rv, resource, key, "DELETED", last, prev))
        return last

    def compact(self, rv=None):
        """Forgets history up to `rv` (default: now), as etcd compaction."""
        rv = self.rv if rv is None else min(rv, self.rv)
        start = bisect.bisect_right(self._log_rvs, rv)
        del self._log[:start]
        del self._log_rvs[:start]
        self.compacted_rv = max(self.compacted_rv, rv)

    def _record(self, event):
        self.rv = event.rv
        self._log.append(event)
        self._log_rvs.append(event.rv)
        if self._history_limit and len(self._log) > self._history_limit:
            self.compact(self._log_rvs[len(self._log) // 2])
        self.cond.notify_all()
