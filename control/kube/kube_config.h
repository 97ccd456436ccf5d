// SPDX-License-Identifier: Apache-2.0
// Where the Kubernetes API server is and how to prove who we are to it, found
// the two ways client-go finds it: from inside a pod (the service account)
// or from a kubeconfig file (--kubeconfig). Nothing here opens a connection;
// CurlTransport takes the result.
//
// In a pod, the address comes from KUBERNETES_SERVICE_HOST/PORT. For a
// kube-proxy replacement these are normally set, in the DaemonSet and
// Deployment, to the real API server's address: the values the kubelet
// injects point at the `kubernetes` Service's ClusterIP, which is served by
// Switchyard itself, and a controller cannot learn the cluster through a
// datapath that the cluster has not yet programmed. Nothing special is
// needed for that here: whatever the environment says is used.
//
// TLS is always verified. What cannot be honoured (insecure-skip-tls-verify,
// credential plugins, basic auth, proxies) is refused with a message saying
// so, never ignored: a config that half-works fails far from its cause.
#ifndef SWITCHYARD_CONTROL_KUBE_KUBE_CONFIG_H_
#define SWITCHYARD_CONTROL_KUBE_KUBE_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"

namespace switchyard::kube {

// PEM text given either as a file or inline, as kubeconfig gives it
// (certificate-authority vs certificate-authority-data). A file is kept as a
// path rather than read into `pem`, so that libcurl reads it again for each
// new connection and a CA or client certificate replaced on disk is picked
// up; inline data stays inline. At most one of the two is set.
struct PemSource {
  std::string file;
  std::string pem;
  bool empty() const { return file.empty() && pem.empty(); }
};

// Everything needed to reach one API server. Flat and copyable, so a test
// or main can fill it by hand; the loaders below fill it from the usual
// places and have checked it: `server` is https://, files named exist.
struct ApiServerConfig {
  // "https://host:port", with an optional path prefix for servers behind a
  // path-routing proxy ("https://rancher.example/k8s/clusters/c-1"); no
  // trailing slash. Request paths ("/api/v1/...") are appended to it.
  std::string server;
  // Trust anchors for the server's certificate. Empty: the system's trust
  // store (still verified), as client-go does for a kubeconfig without one.
  PemSource certificate_authority;
  // Bearer token. With `token_file` set, the file is read before each
  // request whenever it has changed (service account tokens are rotated by
  // the kubelet, about hourly), and what it holds wins over `token`, as in
  // kubeconfig's tokenFile. Both empty: no Authorization header.
  std::string token;
  std::string token_file;
  // Client certificate and its key (mutual TLS), both or neither.
  PemSource client_certificate;
  PemSource client_key;
  // Where this came from, for logs: "kubeconfig /root/.kube/config, context
  // kind-lab" or "in-cluster service account /var/run/...".
  std::string source;
};

// Where the kubelet mounts a pod's service account credentials.
inline constexpr char kServiceAccountDir[] =
    "/var/run/secrets/kubernetes.io/serviceaccount";

// From inside a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT
// (an IPv6 host is bracketed), `<account_dir>/token` as the token file and
// `<account_dir>/ca.crt` as the CA. `account_dir` is a parameter for tests.
// Missing variables or files: FailedPrecondition naming what is missing and
// pointing at --kubeconfig for use outside a cluster.
absl::StatusOr<ApiServerConfig> InClusterConfig(
    const std::string& account_dir = kServiceAccountDir);

// From a kubeconfig file: `context`, or the file's current-context when
// empty, names a cluster and a user. Relative file names in it are relative
// to the kubeconfig's own directory, as kubectl reads them. Errors name the
// file and the place in it ("kubeconfig /x: users[admin].user.
// client-key-data: not valid base64") and are InvalidArgument (the file is
// wrong) or NotFound (the file, or a file it names, is missing).
absl::StatusOr<ApiServerConfig> LoadKubeconfig(const std::string& path,
                                               const std::string& context = "");

}  // namespace switchyard::kube

#endif  // SWITCHYARD_CONTROL_KUBE_KUBE_CONFIG_H_
