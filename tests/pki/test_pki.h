// SPDX-License-Identifier: Apache-2.0
// Throwaway certificates for tests, made by the openssl command: CAs and
// the certificates they sign (servers with their addresses, clients with
// the Common Name that is their role, expired ones), in a fresh folder
// removed with everything in it. One shell runs all of a set's openssl
// commands: each takes milliseconds, but ctest runs every test case in a
// process of its own, and each makes its own set.
//
// Used by the unit tests of the TLS listeners and clients and by the e2e
// tests, whose control planes run over mutual TLS.
#ifndef SWITCHYARD_TESTS_PKI_TEST_PKI_H_
#define SWITCHYARD_TESTS_PKI_TEST_PKI_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control/tls/tls_files.h"

namespace switchyard::pki {

// One certificate and its key, written as <name>.crt and <name>.key.
struct CertSpec {
  std::string name;         // [a-z0-9-]
  std::string common_name;  // the subject's CN, e.g. "yard-node:node-1"
  // X.509v3 extensions as `openssl req -addext` takes them:
  // "subjectAltName=IP:127.0.0.1", "extendedKeyUsage=clientAuth".
  std::vector<std::string> extensions;
  std::string ca = "ca";  // the CA of the same set that signs it
  bool expired = false;   // valid on 1 January 2020 only
};

// A client certificate (extendedKeyUsage=clientAuth) signed by `ca`.
CertSpec ClientCert(std::string name, std::string common_name,
                    std::string ca = "ca");
// A server certificate for `addresses` (IPv4 literals become IP: names,
// anything else DNS:) signed by `ca`.
CertSpec ServerCert(std::string name, std::string common_name,
                    const std::vector<std::string>& addresses,
                    std::string ca = "ca");

class TestPki {
 public:
  // Self-signed CAs `cas` (<ca>.crt, <ca>.key), then `certs`, in a new
  // folder under $TMPDIR (else /tmp). Valid for two days.
  static absl::StatusOr<std::unique_ptr<TestPki>> Make(
      const std::vector<std::string>& cas, const std::vector<CertSpec>& certs);
  // Removes the folder and everything in it.
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& dir() const { return dir_; }
  // dir/<name>: any file of the folder (a test may keep its own there).
  std::string File(absl::string_view name) const;
  std::string Cert(absl::string_view name) const;  // dir/<name>.crt
  std::string Key(absl::string_view name) const;   // dir/<name>.key
  // Certificate `name` with its key, trusting peers signed by `ca`.
  tls::TlsFiles Files(absl::string_view name,
                      absl::string_view ca = "ca") const;

  // Makes `spec` again (a new key, a new certificate) under other names,
  // then renames the two files over <name>.key and <name>.crt, as an
  // operator rotating them would: a reader sees the old pair or the new
  // one, never half a file.
  absl::Status Replace(const CertSpec& spec);

 private:
  explicit TestPki(std::string dir) : dir_(std::move(dir)) {}
  // Runs `script` (sh, in dir_), its output kept for the error.
  absl::Status RunScript(const std::string& script);

  std::string dir_;
  int scripts_run_ = 0;
};

}  // namespace switchyard::pki

#endif  // SWITCHYARD_TESTS_PKI_TEST_PKI_H_
