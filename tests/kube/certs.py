#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Throwaway TLS material for tests that talk to the API-server stand-in.

  certs.py DIR [--ip 10.0.0.1 ...] [--dns name ...] [--server URL]

writes, with the openssl command line: ca.crt/ca.key (a fresh CA),
server.crt/server.key (SAN IP:127.0.0.1, IP:::1, DNS:localhost and
DNS:kubernetes..., plus every --ip/--dns), client.crt/client.key (CN
switchyard-controller, O system:masters: an admin, as kubeadm's), and
token (a random bearer token). Keys are EC P-256, certificates last a
year. With --server (the stand-in's URL), also kubeconfig-token and
kubeconfig-cert: kubeconfigs as kubeadm writes them (CA and client
certificate inline, base64), one with the bearer token, one with the
client certificate. Importable: make_all(dir, extra_ips, extra_dns)
returns the paths; write_kubeconfig(dir, server, use_token) writes one.
"""

import argparse
import base64
import os
import secrets
import subprocess
import sys

_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes"]


def _openssl(*args, cwd):
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: "
                           f"{result.stderr.strip()}")


def make_ca(directory, name="ca", common_name="switchyard-test-ca"):
    """A self-signed CA: NAME.crt, NAME.key."""
    _openssl("req", "-x509", *_KEY, "-keyout", f"{name}.key", "-out",
             f"{name}.crt", "-days", "365", "-subj", f"/CN={common_name}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             cwd=directory)
    return os.path.join(directory, f"{name}.crt")


def make_leaf(directory, name, subject, extensions, ca="ca"):
    """NAME.crt/NAME.key signed by CA, with `extensions` (openssl syntax)."""
    extfile = f"{name}.ext"
    with open(os.path.join(directory, extfile), "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "subjectKeyIdentifier=hash\n"
                "authorityKeyIdentifier=keyid,issuer\n" + extensions)
    _openssl("req", *_KEY, "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", subject, cwd=directory)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt",
             "-CAkey", f"{ca}.key", "-set_serial",
             str(secrets.randbits(63)), "-days", "365", "-out",
             f"{name}.crt", "-extfile", extfile, cwd=directory)
    os.remove(os.path.join(directory, f"{name}.csr"))
    os.remove(os.path.join(directory, extfile))
    return os.path.join(directory, f"{name}.crt")


def make_all(directory, extra_ips=(), extra_dns=()):
    """Writes the whole set into `directory`; returns {name: path}."""
    os.makedirs(directory, exist_ok=True)
    make_ca(directory)
    names = ["IP:127.0.0.1", "IP:::1", "DNS:localhost", "DNS:kubernetes",
             "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
             "DNS:kubernetes.default.svc.cluster.local"]
    names += [f"IP:{ip}" for ip in extra_ips]
    names += [f"DNS:{name}" for name in extra_dns]
    make_leaf(directory, "server", "/CN=kube-apiserver",
              "keyUsage=critical,digitalSignature,keyEncipherment\n"
              "extendedKeyUsage=serverAuth\n"
              f"subjectAltName={','.join(names)}\n")
    make_leaf(directory, "client",
              "/O=system:masters/CN=switchyard-controller",
              "keyUsage=critical,digitalSignature,keyEncipherment\n"
              "extendedKeyUsage=clientAuth\n")
    token = os.path.join(directory, "token")
    with open(token, "w") as f:
        f.write(secrets.token_hex(24) + "\n")
    for key in ("ca.key", "server.key", "client.key", "token"):
        os.chmod(os.path.join(directory, key), 0o600)
    return {
        name: os.path.join(directory, name)
        for name in ("ca.crt", "ca.key", "server.crt", "server.key",
                     "client.crt", "client.key", "token")
    }


def _base64_of(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def write_kubeconfig(directory, server, use_token):
    """kubeconfig-token or kubeconfig-cert for `server`; returns its path."""
    if use_token:
        with open(os.path.join(directory, "token")) as f:
            user = f"    token: {f.read().strip()}\n"
    else:
        user = (
            "    client-certificate-data: "
            f"{_base64_of(os.path.join(directory, 'client.crt'))}\n"
            "    client-key-data: "
            f"{_base64_of(os.path.join(directory, 'client.key'))}\n")
    text = (
        "apiVersion: v1\n"
        "kind: Config\n"
        "clusters:\n"
        "- name: standin\n"
        "  cluster:\n"
        "    certificate-authority-data: "
        f"{_base64_of(os.path.join(directory, 'ca.crt'))}\n"
        f"    server: {server}\n"
        "users:\n"
        "- name: switchyard-controller\n"
        "  user:\n" + user +
        "contexts:\n"
        "- name: standin\n"
        "  context:\n"
        "    cluster: standin\n"
        "    user: switchyard-controller\n"
        "current-context: standin\n"
        "preferences: {}\n")
    path = os.path.join(directory,
                        "kubeconfig-token" if use_token else "kubeconfig-cert")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir")
    parser.add_argument("--ip", action="append", default=[],
                        help="another IP SAN of the server certificate")
    parser.add_argument("--dns", action="append", default=[],
                        help="another DNS SAN of the server certificate")
    parser.add_argument("--server",
                        help="also write kubeconfigs for this URL "
                        "(https://127.0.0.1:PORT)")
    args = parser.parse_args(argv)
    paths = make_all(args.dir, args.ip, args.dns)
    if args.server:
        for use_token in (True, False):
            path = write_kubeconfig(args.dir, args.server, use_token)
            paths[os.path.basename(path)] = path
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
