# SPDX-License-Identifier: Apache-2.0
"""The pieces of the Kubernetes API-server stand-in (apiserver_standin.py).

One concern per module:
  server     the server's state, listening socket and test-control actions
  handler    one HTTPS connection: auth, routing, answers, watch streams
  discovery  /version, /api, /apis and the resource lists
  api        the REST verbs over the store (list, get, create, ...)
  store      the versioned store: revisions, history, snapshots, compaction
  watch      which events a watcher sees, bookmarks, when a stream ends
  kinds      Service, EndpointSlice, Node: paths, defaults, validation
  services   Service defaulting and ClusterIP/NodePort allocation
  meta       server-owned metadata: uid, timestamps, names, managedFields
  selectors  label and field selectors
  patch      merge patch and JSON patch
  errors     Status objects as the real server words them
  loader     --load: objects from JSON or YAML files
"""
