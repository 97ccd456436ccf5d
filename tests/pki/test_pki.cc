// SPDX-License-Identifier: Apache-2.0
#include "tests/pki/test_pki.h"

#include <arpa/inet.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace switchyard::pki {
namespace {

// P-256 keys: made in a millisecond, unlike RSA's.
constexpr char kNewKey[] = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";

std::string Quote(absl::string_view text) {
  return absl::StrCat("'", absl::StrReplaceAll(text, {{"'", "'\\''"}}), "'");
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// `openssl ca` is the command's only way to choose a certificate's dates
// (req and x509 take a number of days from now): a minimal CA database
// for it, in the folder's "ca-db".
constexpr char kOldCaConfig[] =
    "[ca]\\ndefault_ca=c\\n[c]\\ndir=ca-db\\ndatabase=ca-db/index.txt\\n"
    "new_certs_dir=ca-db\\nserial=ca-db/serial\\ndefault_md=sha256\\n"
    "unique_subject=no\\n"
    "policy=p\\n[p]\\ncommonName=supplied\\n";

// The commands that make `spec` as files <out>.key and <out>.crt, run in
// the folder.
std::string CertCommands(const CertSpec& spec, const std::string& out) {
  const std::string subject = Quote(absl::StrCat("/CN=", spec.common_name));
  const std::string ca_crt = Quote(spec.ca + ".crt");
  const std::string ca_key = Quote(spec.ca + ".key");
  if (!spec.expired) {
    std::string command =
        absl::StrCat("openssl req -x509 ", kNewKey, " -days 2 -CA ", ca_crt,
                     " -CAkey ", ca_key, " -subj ", subject,
                     " -addext basicConstraints=critical,CA:FALSE");
    for (const std::string& extension : spec.extensions) {
      absl::StrAppend(&command, " -addext ", Quote(extension));
    }
    absl::StrAppend(&command, " -keyout ", Quote(out + ".key"), " -out ",
                    Quote(out + ".crt"), "\n");
    return command;
  }
  std::string commands = absl::StrCat(
      "mkdir -p ca-db && touch ca-db/index.txt && "
      "{ [ -f ca-db/serial ] || echo 01 > ca-db/serial; }\n",
      "printf '", kOldCaConfig, "' > ca-db/ca.cnf\n", "printf '%s\\n' ",
      spec.extensions.empty()
          ? Quote("basicConstraints=CA:FALSE")
          : absl::StrJoin(spec.extensions, " ",
                          [](std::string* to, const std::string& e) {
                            absl::StrAppend(to, Quote(e));
                          }),
      " > ", Quote(out + ".ext"), "\n", "openssl req ", kNewKey, " -subj ",
      subject, " -keyout ", Quote(out + ".key"), " -out ", Quote(out + ".csr"),
      "\n", "openssl ca -batch -notext -config ca-db/ca.cnf -cert ", ca_crt,
      " -keyfile ", ca_key,
      " -startdate 20200101000000Z -enddate 20200102000000Z -extfile ",
      Quote(out + ".ext"), " -in ", Quote(out + ".csr"), " -out ",
      Quote(out + ".crt"), "\n");
  return commands;
}

bool IsIpv4(const std::string& text) {
  in_addr address;
  return inet_pton(AF_INET, text.c_str(), &address) == 1;
}

}  // namespace

CertSpec ClientCert(std::string name, std::string common_name, std::string ca) {
  return {.name = std::move(name),
          .common_name = std::move(common_name),
          .extensions = {"extendedKeyUsage=clientAuth"},
          .ca = std::move(ca)};
}

CertSpec ServerCert(std::string name, std::string common_name,
                    const std::vector<std::string>& addresses, std::string ca) {
  std::vector<std::string> names;
  for (const std::string& address : addresses) {
    names.push_back(absl::StrCat(IsIpv4(address) ? "IP:" : "DNS:", address));
  }
  return {
      .name = std::move(name),
      .common_name = std::move(common_name),
      .extensions = {absl::StrCat("subjectAltName=", absl::StrJoin(names, ",")),
                     "extendedKeyUsage=serverAuth"},
      .ca = std::move(ca)};
}

absl::StatusOr<std::unique_ptr<TestPki>> TestPki::Make(
    const std::vector<std::string>& cas, const std::vector<CertSpec>& certs) {
  const char* base = getenv("TMPDIR");
  std::string pattern =
      absl::StrCat(base != nullptr ? base : "/tmp", "/yard-pki-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp ", pattern));
  }
  std::unique_ptr<TestPki> pki(new TestPki(pattern));
  std::string script;
  for (const std::string& ca : cas) {
    absl::StrAppend(&script, "openssl req -x509 ", kNewKey, " -days 2 -subj ",
                    Quote(absl::StrCat("/CN=", ca)), " -keyout ",
                    Quote(ca + ".key"), " -out ", Quote(ca + ".crt"), "\n");
  }
  for (const CertSpec& spec : certs) {
    absl::StrAppend(&script, CertCommands(spec, spec.name));
  }
  if (absl::Status s = pki->RunScript(script); !s.ok()) return s;
  return pki;
}

TestPki::~TestPki() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string TestPki::File(absl::string_view name) const {
  return absl::StrCat(dir_, "/", name);
}

std::string TestPki::Cert(absl::string_view name) const {
  return File(absl::StrCat(name, ".crt"));
}

std::string TestPki::Key(absl::string_view name) const {
  return File(absl::StrCat(name, ".key"));
}

tls::TlsFiles TestPki::Files(absl::string_view name,
                             absl::string_view ca) const {
  return {.cert = Cert(name), .key = Key(name), .ca = Cert(ca)};
}

absl::Status TestPki::Replace(const CertSpec& spec) {
  const std::string next = absl::StrCat(spec.name, "-next");
  if (absl::Status s = RunScript(CertCommands(spec, next)); !s.ok()) return s;
  std::error_code ec;
  for (const char* ext : {".key", ".crt"}) {
    std::filesystem::rename(File(next + ext), File(spec.name + ext), ec);
    if (ec) {
      return absl::InternalError(absl::StrCat("rename ", File(next + ext),
                                              " to ", File(spec.name + ext),
                                              ": ", ec.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status TestPki::RunScript(const std::string& script) {
  const std::string name = absl::StrCat("make-", ++scripts_run_);
  std::ofstream(File(name + ".sh")) << "set -e\ncd " << Quote(dir_) << "\n"
                                    << script;
  const std::string command =
      absl::StrCat("sh ", Quote(File(name + ".sh")), " >",
                   Quote(File(name + ".log")), " 2>&1");
  if (std::system(command.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("openssl failed:\n", script, "\n",
                                            ReadAll(File(name + ".log"))));
  }
  return absl::OkStatus();
}

}  // namespace switchyard::pki
