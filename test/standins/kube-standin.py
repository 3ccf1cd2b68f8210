#!/usr/bin/env python3
"""Stand-in for kube-apiserver, kube-controller-manager and kube-scheduler, for unit tests only.

Why it survives: the lab and the end-to-end tests run real Kubernetes v1.20.2 binaries, built from
Debian's source package (scripts/build-kubernetes.sh). No real binary of the current default,
1.32, can be had on the machines hardway is tested on, so the 1.32 rendering of units/ (its flags,
the v1 KubeSchedulerConfiguration, the files they name) is checked against this stand-in. It is
never installed on a lab node. This one file plays all
three, chosen by the name it is installed under (/usr/local/bin/kube-apiserver, ...). It behaves
like the real binaries wherever the orchestrator can tell:

- accepts exactly the flags hardway's units pass (pflag syntax); an unknown flag, a missing
  required flag or a malformed value is "Error: ..." on stderr and exit 1;
- loads every certificate, key, CA, kubeconfig and config file its flags name, and fails on a
  missing, unparseable or mismatched one, naming the file;
- kube-apiserver opens mutual-TLS connections to the etcd members (GET /health, server certificate
  verified against --etcd-cafile and the URL's host), exits non-zero if none is reachable within
  a bound, checks that its serving certificate covers the kubernetes Service IP, and serves
  /healthz /livez /readyz (200 "ok" only while etcd is reachable) and /version over HTTPS on
  --bind-address:--secure-port, asking for client certificates signed by --client-ca-file;
- kube-controller-manager and kube-scheduler read their kubeconfig (embedded certificates), verify
  the apiserver's certificate against its CA and host, wait for /healthz, check their RBAC identity
  on their leader-election lease, and serve their own /healthz over HTTPS (10257, 10259).

Python 3 standard library only: lab nodes are Debian minbase with python3 and openssl (the
self-signed serving certificate of the controller-manager and scheduler is made with openssl).

Environment: HARDWAY_STANDIN_CHECK_FLAGS=1 validates the flags and exits 0 without touching any
file; HARDWAY_STANDIN_WAIT_SECONDS bounds the wait for etcd / the apiserver (default 60).
"""
import base64
import binascii
import datetime
import http.client
import http.server
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

# scripts/fill-artifacts.sh rewrites this line to the spec's Kubernetes version.
KUBERNETES_VERSION = "1.32.3"

PROGRAMS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")


class Fatal(Exception):
    """An error the real binary would exit with; main() prints it as `Error: ...` and exits 1."""


# ---------------------------------------------------------------------------------------------
# Logging (klog's header, so journald output looks like the real thing)

def log(severity, message):
    now = datetime.datetime.now()
    stamp = now.strftime("%m%d %H:%M:%S.") + "%06d" % now.microsecond
    sys.stderr.write("%s%s %7d standin] %s\n" % (severity, stamp, os.getpid(), message))
    sys.stderr.flush()


def info(message):
    log("I", message)


def warn(message):
    log("W", message)


def error(message):
    log("E", message)


# ---------------------------------------------------------------------------------------------
# Flags (pflag semantics: --name=value, --name value, boolean --name / --name=false)

STRING, BOOL, INT, PORT, IP, CIDRS, URLS, DURATION, LIST, PORT_RANGE = (
    "string", "bool", "int", "port", "ip", "cidrs", "urls", "duration", "list", "port-range")

APISERVER_FLAGS = {
    "advertise-address": IP,
    "allow-privileged": BOOL,
    "audit-log-maxage": INT,
    "audit-log-maxbackup": INT,
    "audit-log-maxsize": INT,
    "audit-log-path": STRING,
    "authorization-mode": LIST,
    "bind-address": IP,
    "client-ca-file": STRING,
    "enable-admission-plugins": LIST,
    "encryption-provider-config": STRING,
    "etcd-cafile": STRING,
    "etcd-certfile": STRING,
    "etcd-keyfile": STRING,
    "etcd-servers": URLS,
    "event-ttl": DURATION,
    "kubelet-certificate-authority": STRING,
    "kubelet-client-certificate": STRING,
    "kubelet-client-key": STRING,
    "kubelet-preferred-address-types": STRING,
    "runtime-config": STRING,
    "secure-port": PORT,
    "service-account-issuer": STRING,
    "service-account-key-file": STRING,
    "service-account-signing-key-file": STRING,
    "service-cluster-ip-range": CIDRS,
    "service-node-port-range": PORT_RANGE,
    "shutdown-delay-duration": DURATION,
    "tls-cert-file": STRING,
    "tls-private-key-file": STRING,
    "v": INT,
}
APISERVER_REQUIRED = (
    "etcd-servers", "etcd-cafile", "etcd-certfile", "etcd-keyfile", "service-cluster-ip-range",
    "service-account-issuer", "service-account-key-file", "service-account-signing-key-file",
    "tls-cert-file", "tls-private-key-file", "client-ca-file", "encryption-provider-config")

CONTROLLER_MANAGER_FLAGS = {
    "allocate-node-cidrs": BOOL,
    "bind-address": IP,
    "cluster-cidr": CIDRS,
    "cluster-name": STRING,
    "cluster-signing-cert-file": STRING,
    "cluster-signing-key-file": STRING,
    "kubeconfig": STRING,
    "leader-elect": BOOL,
    "root-ca-file": STRING,
    "secure-port": PORT,
    "service-account-private-key-file": STRING,
    "service-cluster-ip-range": CIDRS,
    "use-service-account-credentials": BOOL,
    "v": INT,
}
CONTROLLER_MANAGER_REQUIRED = (
    "kubeconfig", "cluster-signing-cert-file", "cluster-signing-key-file",
    "service-account-private-key-file", "root-ca-file", "service-cluster-ip-range", "cluster-cidr")

SCHEDULER_FLAGS = {
    "bind-address": IP,
    "config": STRING,
    "kubeconfig": STRING,
    "leader-elect": BOOL,
    "secure-port": PORT,
    "v": INT,
}

AUTHORIZATION_MODES = {"AlwaysAllow", "AlwaysDeny", "ABAC", "Webhook", "RBAC", "Node"}
ADMISSION_PLUGINS = {
    "AlwaysAdmit", "AlwaysDeny", "AlwaysPullImages", "CertificateApproval", "CertificateSigning",
    "CertificateSubjectRestriction", "ClusterTrustBundleAttest", "DefaultIngressClass",
    "DefaultStorageClass", "DefaultTolerationSeconds", "DenyServiceExternalIPs", "EventRateLimit",
    "ExtendedResourceToleration", "ImagePolicyWebhook", "LimitPodHardAntiAffinityTopology",
    "LimitRanger", "MutatingAdmissionPolicy", "MutatingAdmissionWebhook", "NamespaceAutoProvision",
    "NamespaceExists", "NamespaceLifecycle", "NodeRestriction", "OwnerReferencesPermissionEnforcement",
    "PersistentVolumeClaimResize", "PodNodeSelector", "PodSecurity", "PodTolerationRestriction",
    "Priority", "ResourceQuota", "RuntimeClass", "ServiceAccount", "StorageObjectInUseProtection",
    "TaintNodesByCondition", "ValidatingAdmissionPolicy", "ValidatingAdmissionWebhook"}

DURATION_RE = re.compile(r"^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$")


def parse_flags(program, argv, known):
    """pflag-style parsing into {name: value}; help and version are recorded like flags."""
    values = {}
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        if arg == "--":
            rest = [a for a in argv[index:] if a]
            if rest:
                raise Fatal('"%s" does not take any arguments, got %s' % (program, json.dumps(rest)))
            break
        if not arg.startswith("-") or arg == "-":
            raise Fatal('"%s" does not take any arguments, got %s' % (program, json.dumps([arg])))
        body = arg[2:] if arg.startswith("--") else arg[1:]
        name, has_value, value = body.partition("=")
        if arg.startswith("-") and not arg.startswith("--") and len(name) != 1:
            raise Fatal("unknown shorthand flag: %r in %s" % (name[:1], arg))
        if name in ("h", "help"):
            values["help"] = True
            continue
        if name == "version":
            values["version"] = value if has_value else "true"
            continue
        kind = known.get(name)
        if kind is None:
            if len(name) == 1:
                raise Fatal("unknown shorthand flag: %r in %s" % (name, arg))
            raise Fatal("unknown flag: --%s" % name)
        if kind == BOOL:
            if not has_value:
                value = "true"
            if value not in ("true", "false", "1", "0", "t", "f", "TRUE", "FALSE", "True", "False"):
                raise Fatal('invalid argument "%s" for "--%s" flag: strconv.ParseBool: parsing "%s": invalid syntax' % (value, name, value))
            values[name] = value in ("true", "1", "t", "TRUE", "True")
            continue
        if not has_value:
            if index >= len(argv):
                raise Fatal("flag needs an argument: --%s" % name)
            value = argv[index]
            index += 1
        values[name] = check_value(name, kind, value)
    return values


def check_value(name, kind, value):
    def invalid(reason):
        return Fatal('invalid argument "%s" for "--%s" flag: %s' % (value, name, reason))

    if kind == INT:
        try:
            return int(value)
        except ValueError:
            raise invalid('strconv.ParseInt: parsing "%s": invalid syntax' % value)
    if kind == PORT:
        try:
            port = int(value)
        except ValueError:
            raise invalid('strconv.ParseInt: parsing "%s": invalid syntax' % value)
        if not 0 <= port <= 65535:
            raise invalid("port must be between 0 and 65535")
        return port
    if kind == IP:
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise invalid('failed to parse IP: "%s"' % value)
    if kind == CIDRS:
        networks = []
        for part in value.split(","):
            try:
                networks.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise invalid('invalid CIDR address: %s' % part)
        if len(networks) > 2:
            raise invalid("at most two CIDRs (one per IP family) may be given")
        return networks
    if kind == URLS:
        urls = [u.strip() for u in value.split(",") if u.strip()]
        if not urls:
            raise invalid("at least one URL is required")
        for url in urls:
            parsed = urllib.parse.urlsplit(url)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise invalid('parse "%s": not an http(s) URL with a host' % url)
        return urls
    if kind == DURATION:
        if not DURATION_RE.match(value):
            raise invalid('time: invalid duration "%s"' % value)
        return value
    if kind == LIST:
        return [item.strip() for item in value.split(",") if item.strip()]
    if kind == PORT_RANGE:
        match = re.match(r"^(\d+)-(\d+)$", value)
        if not match or int(match.group(1)) > int(match.group(2)):
            raise invalid("unable to parse port range: %s" % value)
        return value
    return value


def usage(program, known):
    lines = ["Usage:", "  %s [flags]" % program, "", "Flags:"]
    for name in sorted(known):
        lines.append("      --%s %s" % (name, "" if known[name] == BOOL else known[name]))
    lines.append("  -h, --help")
    lines.append("      --version")
    return "\n".join(lines) + "\n"


def require(flags, names):
    missing = [name for name in names if name not in flags or flags[name] in ("", [], None)]
    if missing:
        raise Fatal("[%s]" % ", ".join("--%s must be specified" % name for name in missing))


# ---------------------------------------------------------------------------------------------
# A small YAML reader: enough for kubeconfigs, EncryptionConfiguration and KubeSchedulerConfiguration
# as hardway (and kubectl) write them. minbase python3 has no yaml module.

class YamlError(Exception):
    pass


def parse_yaml(text):
    stripped = text.strip()
    if stripped.startswith("{") or stripped.startswith("["):
        try:
            return json.loads(stripped)
        except ValueError:
            pass
    lines = []
    for number, raw in enumerate(text.splitlines(), 1):
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise YamlError("line %d: found a tab character where an indentation space is expected" % number)
        content = strip_comment(raw).rstrip()
        if not content.strip() or content.strip() in ("---", "..."):
            if content.strip() == "---" and any(lines):
                break  # first document only
            lines.append(None)
            continue
        lines.append((len(content) - len(content.lstrip(" ")), content.lstrip(" "), number, raw))
    reader = _YamlLines(lines)
    reader.skip_blank()
    if reader.done():
        return None
    value = reader.block(reader.indent())
    reader.skip_blank()
    if not reader.done():
        raise YamlError("line %d: unexpected content %r" % (reader.current()[2], reader.current()[1]))
    return value


def strip_comment(line):
    quote = None
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in ("'", '"') and (index == 0 or line[index - 1] in " :-[{,"):
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            return line[:index]
    return line


class _YamlLines:
    def __init__(self, lines):
        self.lines = lines
        self.pos = 0

    def done(self):
        return self.pos >= len(self.lines)

    def skip_blank(self):
        while self.pos < len(self.lines) and self.lines[self.pos] is None:
            self.pos += 1

    def current(self):
        return self.lines[self.pos]

    def indent(self):
        return self.lines[self.pos][0]

    def block(self, indent):
        self.skip_blank()
        line = self.current()
        if line[1] == "-" or line[1].startswith("- "):
            return self.sequence(indent)
        return self.mapping(indent)

    def sequence(self, indent):
        items = []
        while True:
            self.skip_blank()
            if self.done():
                return items
            col, text, number, _ = self.current()
            if col < indent or not (text == "-" or text.startswith("- ")):
                if col > indent:
                    raise YamlError("line %d: bad indentation of a sequence entry" % number)
                return items
            if col > indent:
                raise YamlError("line %d: bad indentation of a sequence entry" % number)
            rest = text[1:].lstrip(" ")
            if not rest:
                self.pos += 1
                self.skip_blank()
                if self.done() or self.indent() <= indent:
                    items.append(None)
                else:
                    items.append(self.block(self.indent()))
                continue
            inner = col + (len(text) - len(rest))
            if _is_mapping_line(rest) or rest == "-" or rest.startswith("- "):
                # "- key: value": the rest of the line starts a nested block at its own column.
                self.lines[self.pos] = (inner, rest, number, self.lines[self.pos][3])
                items.append(self.block(inner))
            else:
                self.pos += 1
                items.append(self.scalar_value(rest, indent, number))

    def mapping(self, indent):
        result = {}
        while True:
            self.skip_blank()
            if self.done():
                return result
            col, text, number, _ = self.current()
            if col < indent:
                return result
            if col > indent:
                raise YamlError("line %d: bad indentation of a mapping entry" % number)
            if text == "-" or text.startswith("- "):
                return result
            key, rest = _split_key(text, number)
            if key in result:
                raise YamlError('line %d: mapping key "%s" already defined' % (number, key))
            self.pos += 1
            if rest == "":
                self.skip_blank()
                if self.done():
                    result[key] = None
                elif self.indent() > indent:
                    result[key] = self.block(self.indent())
                elif self.indent() == indent and (self.current()[1] == "-" or self.current()[1].startswith("- ")):
                    result[key] = self.sequence(indent)
                else:
                    result[key] = None
            else:
                result[key] = self.scalar_value(rest, indent, number)

    def scalar_value(self, text, indent, number):
        if text in ("|", "|-", "|+", ">", ">-", ">+"):
            return self.block_scalar(text, indent)
        if text[0] in "[{":
            parser = _Flow(text, number)
            value = parser.value()
            parser.end()
            return value
        if text[0] in "'\"":
            value, rest = _quoted(text, number)
            if rest.strip():
                raise YamlError("line %d: unexpected text after a quoted string" % number)
            return value
        # A plain scalar may continue on more-indented lines.
        parts = [text]
        while True:
            self.skip_blank()
            if self.done() or self.indent() <= indent:
                break
            follow = self.current()[1]
            if _is_mapping_line(follow):
                raise YamlError("line %d: mapping values are not allowed in this context" % self.current()[2])
            parts.append(follow)
            self.pos += 1
        return _plain(" ".join(parts))

    def block_scalar(self, header, indent):
        collected = []
        block_indent = None
        while self.pos < len(self.lines):
            line = self.lines[self.pos]
            if line is None:
                collected.append("")
                self.pos += 1
                continue
            if line[0] <= indent:
                break
            if block_indent is None:
                block_indent = line[0]
            collected.append(line[3][block_indent:].rstrip())
            self.pos += 1
        while collected and collected[-1] == "":
            collected.pop()
        if header.startswith(">"):
            text = " ".join(collected)
        else:
            text = "\n".join(collected)
        return text if header.endswith("-") else text + "\n"


def _is_mapping_line(text):
    try:
        _split_key(text, 0)
        return True
    except YamlError:
        return False


def _split_key(text, number):
    if text[0] in "'\"":
        key, rest = _quoted(text, number)
        rest = rest.lstrip(" ")
        if not rest.startswith(":"):
            raise YamlError("line %d: expected ':' after a mapping key" % number)
        return key, rest[1:].strip()
    match = re.match(r"^([^\s:\[\]{},#][^:#]*?|[^\s:\[\]{},#]*?)\s*:(\s+|$)(.*)$", text)
    if not match:
        raise YamlError("line %d: expected a mapping entry 'key: value', got %r" % (number, text))
    return match.group(1), match.group(3).strip()


def _quoted(text, number):
    quote = text[0]
    out = []
    index = 1
    while index < len(text):
        char = text[index]
        if quote == "'" and char == "'":
            if text[index + 1: index + 2] == "'":
                out.append("'")
                index += 2
                continue
            return "".join(out), text[index + 1:]
        if quote == '"' and char == "\\":
            escape = text[index + 1: index + 2]
            mapping = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "/": "/", "r": "\r", "0": "\0"}
            if escape in mapping:
                out.append(mapping[escape])
                index += 2
                continue
            if escape == "u":
                out.append(chr(int(text[index + 2: index + 6], 16)))
                index += 6
                continue
            raise YamlError("line %d: unknown escape \\%s" % (number, escape))
        if quote == '"' and char == '"':
            return "".join(out), text[index + 1:]
        out.append(char)
        index += 1
    raise YamlError("line %d: unterminated quoted string" % number)


def _plain(text):
    if text in ("null", "Null", "NULL", "~", ""):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if re.match(r"^[-+]?\d+$", text):
        return int(text)
    return text


class _Flow:
    def __init__(self, text, number):
        self.text = text
        self.pos = 0
        self.number = number

    def fail(self, message):
        raise YamlError("line %d: %s in flow collection %r" % (self.number, message, self.text))

    def space(self):
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def end(self):
        self.space()
        if self.pos != len(self.text):
            self.fail("unexpected text")

    def value(self):
        self.space()
        if self.pos >= len(self.text):
            self.fail("unexpected end")
        char = self.text[self.pos]
        if char == "{":
            return self.collection("}", True)
        if char == "[":
            return self.collection("]", False)
        if char in "'\"":
            value, rest = _quoted(self.text[self.pos:], self.number)
            self.pos = len(self.text) - len(rest)
            return value
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in ",]}" and not (
                self.text[self.pos] == ":" and self.text[self.pos + 1: self.pos + 2] in (" ", "")):
            self.pos += 1
        return _plain(self.text[start:self.pos].strip())

    def collection(self, close, is_map):
        self.pos += 1
        result = {} if is_map else []
        while True:
            self.space()
            if self.text[self.pos: self.pos + 1] == close:
                self.pos += 1
                return result
            item = self.value()
            self.space()
            if is_map:
                if self.text[self.pos: self.pos + 1] != ":":
                    self.fail("expected ':'")
                self.pos += 1
                result[str(item)] = self.value()
            else:
                result.append(item)
            self.space()
            char = self.text[self.pos: self.pos + 1]
            if char == ",":
                self.pos += 1
            elif char != close:
                self.fail("expected ',' or '%s'" % close)


# ---------------------------------------------------------------------------------------------
# PEM, DER and certificates

PEM_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\s*(.*?)\s*-----END \1-----", re.S)
PRIVATE_KEY_LABELS = ("RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY")
PUBLIC_KEY_LABELS = ("PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE")


def read_file(path, flag):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise Fatal("%s: open %s: %s" % (flag, path, (exc.strerror or str(exc)).lower()))


def pem_blocks(data):
    blocks = []
    for label, body in PEM_RE.findall(data.decode("ascii", "replace")):
        try:
            der = base64.b64decode("".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            continue
        if der_valid(der):
            blocks.append((label, der))
    return blocks


def der_header(der, pos):
    """Tag, start of content and end of content of the DER element at pos."""
    if pos + 2 > len(der):
        raise ValueError("truncated")
    tag = der[pos]
    length = der[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > len(der):
            raise ValueError("bad length")
        length = int.from_bytes(der[pos:pos + count], "big")
        pos += count
    if pos + length > len(der):
        raise ValueError("truncated")
    return tag, pos, pos + length


def der_valid(der):
    try:
        tag, _, end = der_header(der, 0)
        return tag == 0x30 and end == len(der)
    except ValueError:
        return False


def load_private_key(path, flag):
    """A private key PEM (PKCS#1, PKCS#8 or SEC1), as Go's keyutil.ParsePrivateKeyPEM accepts."""
    data = read_file(path, flag)
    for label, _ in pem_blocks(data):
        if label in PRIVATE_KEY_LABELS:
            return
    raise Fatal("%s: error reading private key file %s: data does not contain a valid RSA or ECDSA private key" % (flag, path))


def load_public_keys(path, flag):
    """Public keys for token verification: a PEM public key, certificate or private key."""
    data = read_file(path, flag)
    for label, _ in pem_blocks(data):
        if label in PUBLIC_KEY_LABELS or label in PRIVATE_KEY_LABELS:
            return
    raise Fatal('%s: failed to parse key file "%s": data does not contain any valid RSA or ECDSA public keys' % (flag, path))


def load_ca(path, flag, context=None):
    read_file(path, flag)
    context = context or ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(cafile=path)
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise Fatal("%s: unable to load CA bundle %s: data does not contain any valid RSA or ECDSA certificates (%s)" % (flag, path, exc))
    return context


def load_key_pair(context, cert_path, key_path, cert_flag, key_flag):
    read_file(cert_path, cert_flag)
    read_file(key_path, key_flag)
    if not any(label == "CERTIFICATE" for label, _ in pem_blocks(read_file(cert_path, cert_flag))):
        raise Fatal("%s: unable to load certificate %s: tls: failed to find any PEM data in certificate input" % (cert_flag, cert_path))
    if not any(label in PRIVATE_KEY_LABELS for label, _ in pem_blocks(read_file(key_path, key_flag))):
        raise Fatal("%s: unable to load private key %s: tls: failed to find any PEM data in key input" % (key_flag, key_path))
    try:
        context.load_cert_chain(cert_path, key_path)
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc) or "key values mismatch" in str(exc):
            raise Fatal("unable to load %s=%s and %s=%s: tls: private key does not match public key" % (cert_flag, cert_path, key_flag, key_path))
        raise Fatal("unable to load %s=%s and %s=%s: %s" % (cert_flag, cert_path, key_flag, key_path, exc))
    return context


def decode_cert(path):
    """subject, SANs and validity of the first certificate in a PEM file (via the ssl module)."""
    try:
        return ssl._ssl._test_decode_cert(path)
    except (ssl.SSLError, OSError, AttributeError) as exc:
        raise Fatal("unable to parse certificate %s: %s" % (path, exc))


def decode_der_cert(der):
    with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as handle:
        handle.write(ssl.DER_cert_to_PEM_cert(der))
        name = handle.name
    try:
        return decode_cert(name)
    finally:
        os.unlink(name)


def cert_sans(decoded):
    names = []
    for kind, value in decoded.get("subjectAltName", ()):
        if kind in ("DNS", "IP Address"):
            names.append(value.strip())
    return names


def ip_in_sans(decoded, ip):
    wanted = ipaddress.ip_address(ip)
    for kind, value in decoded.get("subjectAltName", ()):
        if kind == "IP Address":
            try:
                if ipaddress.ip_address(value.strip()) == wanted:
                    return True
            except ValueError:
                pass
    return False


def subject_of(decoded):
    cn, orgs = "", []
    for rdn in decoded.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                cn = value
            elif key == "organizationName":
                orgs.append(value)
    return cn, orgs


# ---------------------------------------------------------------------------------------------
# TLS clients that report errors the way Go's x509 does

def client_context(ca_path, cert_path=None, key_path=None):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=ca_path)
    if cert_path:
        context.load_cert_chain(cert_path, key_path)
    return context


def describe_tls_error(exc, host, port, cert_path, key_path, ca_label):
    """Go-like x509 wording: which names the server's certificate has, or that the CA is unknown."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        message = exc.verify_message or str(exc)
        if "mismatch" in message:
            sans = peer_sans(host, port, cert_path, key_path)
            listed = ", ".join(sans) if sans is not None else "(unreadable)"
            return "tls: failed to verify certificate: x509: certificate is valid for %s, not %s (server certificate has no SAN %s)" % (listed, host, host)
        if "unable to get local issuer" in message or "self-signed" in message or "self signed" in message:
            return "tls: failed to verify certificate: x509: certificate signed by unknown authority (not signed by %s)" % ca_label
        if "expired" in message:
            return "tls: failed to verify certificate: x509: certificate has expired or is not yet valid"
        return "tls: failed to verify certificate: %s" % message
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or str(exc)
        if "UNKNOWN_CA" in str(exc).upper() or "unknown ca" in str(exc).lower():
            return "remote error: tls: unknown certificate authority (the server does not trust this client certificate)"
        if "CERTIFICATE_REQUIRED" in str(exc).upper() or "certificate required" in str(exc).lower():
            return "remote error: tls: certificate required"
        return "tls: %s" % reason
    if isinstance(exc, ConnectionRefusedError):
        return "dial tcp %s:%s: connect: connection refused" % (host, port)
    if isinstance(exc, socket.timeout):
        return "dial tcp %s:%s: i/o timeout" % (host, port)
    return str(exc)


def peer_sans(host, port, cert_path, key_path):
    """The SANs of a server certificate that failed verification (a second, unverified handshake)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if cert_path:
        try:
            context.load_cert_chain(cert_path, key_path)
        except (ssl.SSLError, OSError):
            pass
    try:
        with socket.create_connection((host, port), timeout=3) as raw:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                der = tls.getpeercert(binary_form=True)
        return cert_sans(decode_der_cert(der)) if der else None
    except (OSError, ssl.SSLError, Fatal):
        return None


def https_get(url, context, timeout=3.0):
    parsed = urllib.parse.urlsplit(url)
    port = parsed.port or 443
    connection = http.client.HTTPSConnection(parsed.hostname, port, context=context, timeout=timeout)
    try:
        connection.request("GET", parsed.path or "/", headers={"User-Agent": "hardway-standin"})
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def wait_seconds():
    try:
        return float(os.environ.get("HARDWAY_STANDIN_WAIT_SECONDS", "60"))
    except ValueError:
        return 60.0


# ---------------------------------------------------------------------------------------------
# HTTPS server shared by the three programs

class TLSServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, context, app):
        self.context = context
        self.app = app
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.address_family = family
        super().__init__(address, handler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs in the worker thread, so a slow or failing client blocks no one.
        request.settimeout(10)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            if self.app.verbosity >= 4:
                info("http: TLS handshake error from %s:%s: %s" % (client_address[0], client_address[1], exc))
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hardway-standin"
    timeout = 30

    def log_message(self, fmt, *args):
        if self.server.app.verbosity >= 4:
            info("%s %s" % (self.address_string(), fmt % args))

    def do_GET(self):
        status, content_type, body = self.server.app.handle(self)
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        self.do_GET()


def peer_identity(handler):
    """The authenticated user of a request: the verified client certificate's CN and O."""
    try:
        cert = handler.connection.getpeercert()
    except (ValueError, AttributeError):
        cert = None
    if not cert:
        return None
    cn, orgs = subject_of(cert)
    return cn, orgs


def status_json(code, reason, message):
    return json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": message, "reason": reason, "code": code}, indent=2) + "\n"


def forbidden(user, path):
    return 403, "application/json", status_json(
        403, "Forbidden", 'forbidden: User "%s" cannot get path "%s"' % (user, path))


def duration_seconds(value):
    """A Go duration as seconds (the forms DURATION_RE accepts)."""
    units = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    return sum(float(number) * units[unit] for number, _, unit in re.findall(r"(\d+(\.\d+)?)(ns|us|ms|s|m|h)", value))


def serve_forever(server, name, stopping=None, delay_seconds=0):
    """Serve until SIGTERM; like kube-apiserver's --shutdown-delay-duration, keep serving (with
    `stopping` set, so /readyz fails) for delay_seconds before the port closes."""
    info("Serving securely on %s:%d (%s)" % (server.server_address[0], server.server_address[1], name))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stop = threading.Event()

    def handle_signal(signum, frame):
        info("received signal %d, shutting down" % signum)
        stop.set()

    signal.signal(signal.SIGTERM, handle_signal)
    signal.signal(signal.SIGINT, handle_signal)
    while not stop.wait(1):
        pass
    if stopping is not None and delay_seconds > 0:
        stopping.set()
        info("/readyz answers 500 for %gs before the port closes (--shutdown-delay-duration)" % delay_seconds)
        time.sleep(delay_seconds)
    server.shutdown()
    return 0


def listen(app, bind, port, context, name):
    try:
        return TLSServer((bind, port), Handler, context, app)
    except OSError as exc:
        raise Fatal("failed to listen on %s:%d (%s): %s" % (bind, port, name, exc.strerror or exc))


HEALTH_PATHS = ("/healthz", "/livez", "/readyz")


def health_response(path, query, checks):
    """checks: [(name, ok)]; the real apiserver's wording, with `?verbose` listing every check."""
    ok = all(passed for _, passed in checks)
    verbose = "verbose" in urllib.parse.parse_qs(query, keep_blank_values=True)
    suffix = path.split("/", 2)[2] if path.count("/") >= 2 else ""
    if suffix:
        for name, passed in checks:
            if name == suffix:
                return (200, "text/plain; charset=utf-8", "ok") if passed else (
                    500, "text/plain; charset=utf-8", "internal server error: %s check failed\n" % name)
        return 404, "text/plain; charset=utf-8", "404 page not found\n"
    kind = path.strip("/").split("/")[0]
    lines = ["[+]%s ok" % name if passed else "[-]%s failed: reason withheld" % name for name, passed in checks]
    if ok:
        if verbose:
            return 200, "text/plain; charset=utf-8", "\n".join(lines) + "\n%s check passed\n" % kind
        return 200, "text/plain; charset=utf-8", "ok"
    return 500, "text/plain; charset=utf-8", "\n".join(lines) + "\n%s check failed\n" % kind


# ---------------------------------------------------------------------------------------------
# kube-apiserver

def check_encryption_config(path):
    flag = "--encryption-provider-config"
    text = read_file(path, flag).decode("utf-8", "replace")
    try:
        config = parse_yaml(text)
    except YamlError as exc:
        raise Fatal("error while parsing file %s (%s): %s" % (path, flag, exc))
    if not isinstance(config, dict):
        raise Fatal("error while parsing file %s (%s): not a YAML mapping" % (path, flag))
    if config.get("kind") != "EncryptionConfiguration" or config.get("apiVersion") not in ("apiserver.config.k8s.io/v1", "apiserver.config.k8s.io/v1beta1"):
        raise Fatal('error while parsing file %s (%s): no kind "%s" is registered for version "%s"' % (
            path, flag, config.get("kind"), config.get("apiVersion")))
    resources = config.get("resources")
    if not isinstance(resources, list) or not resources:
        raise Fatal("error while parsing file %s (%s): resources: Required value: EncryptionConfiguration.Resources must contain at least one resource" % (path, flag))
    keys = 0
    for index, resource in enumerate(resources):
        if not isinstance(resource, dict) or not isinstance(resource.get("resources"), list) or not resource.get("resources"):
            raise Fatal("error while parsing file %s (%s): resources[%d].resources: Required value" % (path, flag, index))
        providers = resource.get("providers")
        if not isinstance(providers, list) or not providers:
            raise Fatal("error while parsing file %s (%s): resources[%d].providers: Required value" % (path, flag, index))
        for pindex, provider in enumerate(providers):
            if not isinstance(provider, dict) or len(provider) != 1:
                raise Fatal("error while parsing file %s (%s): resources[%d].providers[%d]: Invalid value: more than one provider specified in a single element, should split into different list elements" % (path, flag, index, pindex))
            kind, body = next(iter(provider.items()))
            where = "resources[%d].providers[%d].%s" % (index, pindex, kind)
            if kind == "identity":
                continue
            if kind not in ("aescbc", "aesgcm", "secretbox", "kms"):
                raise Fatal("error while parsing file %s (%s): %s: unknown provider" % (path, flag, where))
            if kind == "kms":
                continue
            key_list = body.get("keys") if isinstance(body, dict) else None
            if not isinstance(key_list, list) or not key_list:
                raise Fatal("error while parsing file %s (%s): %s.keys: Required value" % (path, flag, where))
            for kindex, key in enumerate(key_list):
                if not isinstance(key, dict) or not key.get("name"):
                    raise Fatal("error while parsing file %s (%s): %s.keys[%d].name: Required value" % (path, flag, where, kindex))
                secret = key.get("secret")
                try:
                    decoded = base64.b64decode(str(secret or ""), validate=True)
                except (binascii.Error, ValueError):
                    raise Fatal("error while parsing file %s (%s): %s.keys[%d].secret: Invalid value: \"REDACTED\": secrets must be base64 encoded" % (path, flag, where, kindex))
                wanted = (32,) if kind == "secretbox" else (16, 24, 32)
                if len(decoded) not in wanted:
                    raise Fatal("error while parsing file %s (%s): %s.keys[%d].secret: Invalid value: \"REDACTED\": %s key must be %s bytes, got %d" % (
                        path, flag, where, kindex, kind, sizes_text(wanted), len(decoded)))
                keys += 1
    return keys


def sizes_text(sizes):
    words = [str(size) for size in sizes]
    return words[0] if len(words) == 1 else "%s or %s" % (", ".join(words[:-1]), words[-1])


class ApiServer:
    def __init__(self, flags):
        self.flags = flags
        self.verbosity = flags.get("v", 0)
        self.etcd_context = None
        self.etcd_servers = flags["etcd-servers"]
        self.etcd_state = (0.0, False, "not checked")
        self.etcd_lock = threading.Lock()
        # Set once SIGTERM arrived and --shutdown-delay-duration runs: /readyz fails, the rest serves.
        self.stopping = threading.Event()

    def validate(self):
        f = self.flags
        ranges = f["service-cluster-ip-range"]
        for network in ranges:
            if network.num_addresses < 4:
                raise Fatal("--service-cluster-ip-range %s is too small" % network)
        modes = f.get("authorization-mode", ["AlwaysAllow"])
        for mode in modes:
            if mode not in AUTHORIZATION_MODES:
                raise Fatal("--authorization-mode: authorization mode %s is not a valid mode" % mode)
        if "Node" in modes and "RBAC" not in modes:
            warn("--authorization-mode: Node authorization is used without RBAC")
        for plugin in f.get("enable-admission-plugins", []):
            if plugin not in ADMISSION_PLUGINS:
                raise Fatal('--enable-admission-plugins: plugins [%s] in --enable-admission-plugins are not registered' % plugin)
        issuer = f["service-account-issuer"]
        if ":" in issuer:
            parsed = urllib.parse.urlsplit(issuer)
            if parsed.scheme != "https" or not parsed.hostname:
                raise Fatal("--service-account-issuer %s: service-account-issuer contained a ':' but was not a valid https URL" % issuer)
        for pair in filter(None, (f.get("runtime-config") or "").split(",")):
            if "=" not in pair and pair.count("/") > 1:
                raise Fatal("--runtime-config: invalid key %s" % pair)

    def first_service_ip(self):
        network = self.flags["service-cluster-ip-range"][0]
        return str(network.network_address + 1)

    def load_files(self):
        f = self.flags
        serving = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        load_key_pair(serving, f["tls-cert-file"], f["tls-private-key-file"], "--tls-cert-file", "--tls-private-key-file")
        decoded = decode_cert(f["tls-cert-file"])
        service_ip = self.first_service_ip()
        if not ip_in_sans(decoded, service_ip):
            raise Fatal(
                "serving certificate %s (--tls-cert-file) has no SAN %s: the kubernetes Service IP, the first address of "
                "--service-cluster-ip-range=%s; its SANs are [%s]. Reissue it with %s in its hosts." % (
                    f["tls-cert-file"], service_ip, ",".join(str(n) for n in f["service-cluster-ip-range"]),
                    ", ".join(cert_sans(decoded)), service_ip))
        advertise = f.get("advertise-address")
        if advertise and not ip_in_sans(decoded, advertise):
            warn("serving certificate %s has no SAN %s (--advertise-address): clients using that address will fail" % (f["tls-cert-file"], advertise))
        load_ca(f["client-ca-file"], "--client-ca-file", serving)
        serving.verify_mode = ssl.CERT_OPTIONAL
        self.serving = serving

        etcd = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        load_ca(f["etcd-cafile"], "--etcd-cafile", etcd)
        load_key_pair(etcd, f["etcd-certfile"], f["etcd-keyfile"], "--etcd-certfile", "--etcd-keyfile")
        self.etcd_context = etcd

        load_private_key(f["service-account-signing-key-file"], "--service-account-signing-key-file")
        load_public_keys(f["service-account-key-file"], "--service-account-key-file")
        keys = check_encryption_config(f["encryption-provider-config"])
        info("encryption config %s: %d key(s) loaded" % (f["encryption-provider-config"], keys))

        if f.get("kubelet-certificate-authority"):
            load_ca(f["kubelet-certificate-authority"], "--kubelet-certificate-authority")
        if f.get("kubelet-client-certificate") or f.get("kubelet-client-key"):
            if not (f.get("kubelet-client-certificate") and f.get("kubelet-client-key")):
                raise Fatal("--kubelet-client-certificate and --kubelet-client-key must be given together")
            load_key_pair(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), f["kubelet-client-certificate"], f["kubelet-client-key"],
                          "--kubelet-client-certificate", "--kubelet-client-key")

    def probe_etcd(self):
        """(ok, message) for the members of --etcd-servers: ok when one answers /health healthy."""
        errors = []
        for url in self.etcd_servers:
            parsed = urllib.parse.urlsplit(url)
            host, port = parsed.hostname, parsed.port or 2379
            try:
                status, body = https_get(url.rstrip("/") + "/health", self.etcd_context)
            except Exception as exc:  # noqa: BLE001 - every failure is a reason to report
                errors.append("%s: %s" % (url, describe_tls_error(exc, host, port, self.flags["etcd-certfile"],
                                                                  self.flags["etcd-keyfile"], "--etcd-cafile=" + self.flags["etcd-cafile"])))
                continue
            try:
                healthy = status == 200 and str(json.loads(body).get("health")) == "true"
            except ValueError:
                healthy = False
            if healthy:
                return True, url
            errors.append("%s: unhealthy (HTTP %d %s)" % (url, status, body.strip()[:200]))
        return False, "; ".join(errors)

    def etcd_ok(self):
        with self.etcd_lock:
            checked, ok, _ = self.etcd_state
            if time.monotonic() - checked < 1.0:
                return ok
            ok, message = self.probe_etcd()
            if not ok and self.etcd_state[1]:
                error("etcd is unreachable: %s" % message)
            self.etcd_state = (time.monotonic(), ok, message)
            return ok

    def wait_for_etcd(self):
        deadline = time.monotonic() + wait_seconds()
        last = ""
        while True:
            ok, message = self.probe_etcd()
            if ok:
                info("etcd reachable at %s" % message)
                self.etcd_state = (time.monotonic(), True, message)
                return
            if message != last:
                warn("waiting for etcd: %s" % message)
                last = message
            if time.monotonic() >= deadline:
                raise Fatal("failed to reach any etcd server of --etcd-servers=%s within %ds: %s" % (
                    ",".join(self.etcd_servers), wait_seconds(), message))
            time.sleep(1)

    def version_json(self):
        major, minor = KUBERNETES_VERSION.split(".")[:2]
        return json.dumps({
            "major": major, "minor": minor, "gitVersion": "v" + KUBERNETES_VERSION,
            "gitCommit": "hardway-standin", "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z",
            "goVersion": "go1.23.6", "compiler": "gc", "platform": "linux/" + go_arch(),
        }, indent=2) + "\n"

    def handle(self, request):
        parsed = urllib.parse.urlsplit(request.path)
        path = parsed.path
        if path.split("/")[1:2] and "/" + path.split("/")[1] in HEALTH_PATHS:
            checks = [("ping", True), ("log", True), ("etcd", self.etcd_ok())]
            if path.startswith("/readyz"):
                checks.append(("informer-sync", True))
                checks.append(("shutdown", not self.stopping.is_set()))
            return health_response(path, parsed.query, checks)
        if path in ("/version", "/version/"):
            return 200, "application/json", self.version_json()
        identity = peer_identity(request)
        if identity is None:
            return forbidden("system:anonymous", path)
        user, groups = identity
        if path in ("/api", "/api/"):
            return 200, "application/json", json.dumps({"kind": "APIVersions", "versions": ["v1"],
                                                        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "%s:%d" % (self.flags.get("advertise-address", "127.0.0.1"), self.flags.get("secure-port", 6443))}]}) + "\n"
        match = re.match(r"^/apis/coordination\.k8s\.io/v1/namespaces/([^/]+)/leases/([^/]+)$", path)
        if match:
            namespace, name = match.groups()
            allowed = "system:masters" in groups or (namespace == "kube-system" and (user, name) in (
                ("system:kube-controller-manager", "kube-controller-manager"), ("system:kube-scheduler", "kube-scheduler")))
            if not allowed:
                return 403, "application/json", status_json(403, "Forbidden", (
                    'leases.coordination.k8s.io "%s" is forbidden: User "%s" cannot %s resource "leases" in API group '
                    '"coordination.k8s.io" in the namespace "%s"') % (name, user, "get" if request.command == "GET" else "update", namespace))
            return 404, "application/json", status_json(404, "NotFound", 'leases.coordination.k8s.io "%s" not found' % name)
        return 404, "application/json", status_json(404, "NotFound", "the server could not find the requested resource")

    def run(self):
        self.validate()
        self.load_files()
        self.wait_for_etcd()
        bind = self.flags.get("bind-address", "0.0.0.0")
        port = self.flags.get("secure-port", 6443)
        server = listen(self, bind, port, self.serving, "kube-apiserver")
        delay = duration_seconds(self.flags.get("shutdown-delay-duration", "0s"))
        return serve_forever(server, "kube-apiserver", self.stopping, delay)


def go_arch():
    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


# ---------------------------------------------------------------------------------------------
# kubeconfig, and the clients of the apiserver (controller-manager, scheduler)

class Kubeconfig:
    def __init__(self, path, flag):
        self.path = path
        text = read_file(path, flag).decode("utf-8", "replace")
        try:
            config = parse_yaml(text)
        except YamlError as exc:
            raise Fatal('error loading config file "%s": yaml: %s' % (path, exc))
        if not isinstance(config, dict):
            raise Fatal('error loading config file "%s": not a kubeconfig (expected a mapping)' % path)
        if config.get("kind") not in (None, "Config") or config.get("apiVersion") not in (None, "v1"):
            raise Fatal('error loading config file "%s": no kind "%s" is registered for version "%s"' % (path, config.get("kind"), config.get("apiVersion")))
        self.directory = os.path.dirname(os.path.abspath(path))
        context_name = config.get("current-context")
        if not context_name:
            raise Fatal('invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable (%s has no current-context)' % path)
        context = self.named(config, "contexts", "context", context_name)
        if context is None:
            raise Fatal('invalid configuration: [context was not found for specified context: %s] (%s)' % (context_name, path))
        cluster_name, user_name = context.get("cluster"), context.get("user")
        cluster = self.named(config, "clusters", "cluster", cluster_name)
        if cluster is None:
            raise Fatal('invalid configuration: [context "%s": cluster "%s" not found] (%s)' % (context_name, cluster_name, path))
        user = self.named(config, "users", "user", user_name) or {}
        self.user_name = user_name
        self.server = cluster.get("server")
        if not self.server:
            raise Fatal('invalid configuration: no server found for cluster "%s" (%s)' % (cluster_name, path))
        parsed = urllib.parse.urlsplit(self.server)
        if parsed.scheme != "https" or not parsed.hostname:
            raise Fatal('invalid configuration: cluster "%s": server %s is not an https URL (%s)' % (cluster_name, self.server, path))
        self.host, self.port = parsed.hostname, parsed.port or 443
        if cluster.get("insecure-skip-tls-verify"):
            raise Fatal("%s: insecure-skip-tls-verify is set; hardway's kubeconfigs always pin the cluster CA" % path)
        self.tmp = tempfile.mkdtemp(prefix="kubeconfig-")
        os.chmod(self.tmp, 0o700)
        self.ca = self.material(cluster, "certificate-authority", "ca.pem", 'unable to read certificate-authority %s for %s')
        self.cert = self.material(user, "client-certificate", "client.pem", 'unable to read client-cert %s for %s')
        self.key = self.material(user, "client-key", "client-key.pem", 'unable to read client-key %s for %s')
        if not self.ca:
            raise Fatal('%s: cluster "%s" has no certificate-authority-data: the apiserver certificate cannot be verified' % (path, cluster_name))
        if not (self.cert and self.key):
            raise Fatal('%s: user "%s" has no client certificate and key' % (path, user_name))
        try:
            self.context = client_context(self.ca)
        except (ssl.SSLError, ValueError) as exc:
            raise Fatal('%s: certificate-authority-data: unable to load root certificates: %s' % (path, exc))
        load_key_pair(self.context, self.cert, self.key, path + " client-certificate-data", path + " client-key-data")

    @staticmethod
    def named(config, section, field, name):
        for item in config.get(section) or []:
            if isinstance(item, dict) and item.get("name") == name:
                return item.get(field) or {}
        return None

    def material(self, section, key, filename, missing):
        data = section.get(key + "-data")
        if data:
            try:
                raw = base64.b64decode("".join(str(data).split()), validate=True)
            except (binascii.Error, ValueError):
                raise Fatal("%s: %s-data is not valid base64" % (self.path, key))
            target = os.path.join(self.tmp, filename)
            with open(target, "wb") as handle:
                handle.write(raw)
            os.chmod(target, 0o600)
            return target
        reference = section.get(key)
        if reference:
            target = reference if os.path.isabs(reference) else os.path.join(self.directory, reference)
            if not os.path.exists(target):
                raise Fatal(missing % (target, self.user_name) + ": open %s: no such file or directory" % target)
            return target
        return None

    def get(self, path, timeout=5.0):
        return https_get("https://%s:%d%s" % (self.host, self.port, path), self.context, timeout)

    def describe(self, exc):
        return describe_tls_error(exc, self.host, self.port, self.cert, self.key,
                                  "the certificate-authority-data of " + self.path)

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def wait_for_apiserver(kubeconfig, program):
    """Poll /healthz until ok; a certificate that does not verify is fatal at once (it never heals)."""
    deadline = time.monotonic() + wait_seconds()
    last = ""
    url = "%s/healthz" % kubeconfig.server.rstrip("/")
    while True:
        try:
            status, body = kubeconfig.get("/healthz")
            if status == 200:
                info("apiserver %s is healthy" % kubeconfig.server)
                return
            message = "HTTP %d: %s" % (status, body.strip()[:200])
        except ssl.SSLCertVerificationError as exc:
            raise Fatal('%s: failed to wait for apiserver being healthy: Get "%s": %s' % (program, url, kubeconfig.describe(exc)))
        except Exception as exc:  # noqa: BLE001
            message = kubeconfig.describe(exc)
        if message != last:
            warn('waiting for apiserver: Get "%s": %s' % (url, message))
            last = message
        if time.monotonic() >= deadline:
            raise Fatal('%s: failed to wait for apiserver being healthy: Get "%s": %s' % (program, url, message))
        time.sleep(1)


class LeaderElector:
    """Reads its lease through the apiserver: a wrong RBAC identity shows in the log as it would."""

    def __init__(self, kubeconfig, name):
        self.kubeconfig = kubeconfig
        self.name = name
        self.path = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/" + name
        self.leader = False

    def attempt(self):
        try:
            status, body = self.kubeconfig.get(self.path)
        except Exception as exc:  # noqa: BLE001
            error("error retrieving resource lock kube-system/%s: %s" % (self.name, self.kubeconfig.describe(exc)))
            return False
        if status in (200, 404):
            if not self.leader:
                info('successfully acquired lease kube-system/%s' % self.name)
            self.leader = True
            return True
        try:
            message = json.loads(body).get("message", body)
        except ValueError:
            message = body.strip()
        error("error retrieving resource lock kube-system/%s: %s" % (self.name, message))
        return False

    def run(self):
        info("attempting to acquire leader lease kube-system/%s..." % self.name)
        while True:
            self.attempt()
            time.sleep(5 if self.leader else 2)


class ComponentServer:
    """The /healthz endpoint of the controller-manager and the scheduler."""

    def __init__(self, name, verbosity):
        self.name = name
        self.verbosity = verbosity

    def handle(self, request):
        parsed = urllib.parse.urlsplit(request.path)
        path = parsed.path
        if path.split("/")[1:2] and "/" + path.split("/")[1] in HEALTH_PATHS:
            return health_response(path, parsed.query, [("ping", True), ("leaderElection", True)])
        identity = peer_identity(request)
        return forbidden(identity[0] if identity else "system:anonymous", path)


def self_signed_context(name, bind):
    """The real components make a self-signed serving certificate in memory; openssl does it here."""
    directory = tempfile.mkdtemp(prefix=name + "-serving-")
    cert, key = os.path.join(directory, "tls.crt"), os.path.join(directory, "tls.key")
    host = "localhost" if bind in ("0.0.0.0", "::") else bind
    sans = ["DNS:localhost"]
    if host != "localhost":
        sans.insert(0, "IP:%s" % host)
    command = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
               "-keyout", key, "-out", cert, "-days", "365", "-subj", "/CN=%s@%d" % (host, int(time.time())),
               "-addext", "subjectAltName=%s" % ",".join(sans)]
    try:
        subprocess.run(command, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise Fatal("unable to create a self-signed serving certificate with openssl (install openssl): %s" % exc)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    shutil.rmtree(directory, ignore_errors=True)
    return context


def run_component(name, flags, kubeconfig_path, kubeconfig_flag, default_port, leader_elect):
    kubeconfig = Kubeconfig(kubeconfig_path, kubeconfig_flag)
    try:
        wait_for_apiserver(kubeconfig, name)
        if leader_elect:
            elector = LeaderElector(kubeconfig, name)
            threading.Thread(target=elector.run, daemon=True).start()
        else:
            info("leader election is off: running as the only instance")
        bind = flags.get("bind-address", "0.0.0.0")
        port = flags.get("secure-port", default_port)
        app = ComponentServer(name, flags.get("v", 0))
        server = listen(app, bind, port, self_signed_context(name, bind), name)
        return serve_forever(server, name)
    finally:
        kubeconfig.cleanup()


def controller_manager(flags):
    require(flags, CONTROLLER_MANAGER_REQUIRED)
    cluster_cidrs = flags["cluster-cidr"]
    service_cidrs = flags["service-cluster-ip-range"]
    for cluster in cluster_cidrs:
        for service in service_cidrs:
            if cluster.version == service.version and cluster.overlaps(service):
                raise Fatal("--cluster-cidr %s overlaps --service-cluster-ip-range %s" % (cluster, service))
    load_key_pair(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), flags["cluster-signing-cert-file"], flags["cluster-signing-key-file"],
                  "--cluster-signing-cert-file", "--cluster-signing-key-file")
    load_private_key(flags["service-account-private-key-file"], "--service-account-private-key-file")
    load_ca(flags["root-ca-file"], "--root-ca-file")
    return run_component("kube-controller-manager", flags, flags["kubeconfig"], "--kubeconfig", 10257,
                         flags.get("leader-elect", True))


def scheduler_config(path):
    text = read_file(path, "--config").decode("utf-8", "replace")
    try:
        config = parse_yaml(text)
    except YamlError as exc:
        raise Fatal("couldn't decode %s (--config): %s" % (path, exc))
    if not isinstance(config, dict):
        raise Fatal("couldn't decode %s (--config): not a YAML mapping" % path)
    if config.get("kind") != "KubeSchedulerConfiguration" or config.get("apiVersion") != "kubescheduler.config.k8s.io/v1":
        raise Fatal('%s (--config): no kind "%s" is registered for version "%s" in scheme (use kubescheduler.config.k8s.io/v1)' % (
            path, config.get("kind"), config.get("apiVersion")))
    allowed = {"apiVersion", "kind", "clientConnection", "leaderElection", "parallelism", "percentageOfNodesToScore",
               "podInitialBackoffSeconds", "podMaxBackoffSeconds", "profiles", "extenders", "delayCacheUntilActive",
               "enableProfiling", "enableContentionProfiling"}
    for key in config:
        if key not in allowed:
            raise Fatal('%s (--config): strict decoding error: unknown field "%s"' % (path, key))
    connection = config.get("clientConnection") or {}
    election = config.get("leaderElection") or {}
    return connection.get("kubeconfig"), election.get("leaderElect", True)


def scheduler(flags):
    kubeconfig, leader_elect = None, True
    if flags.get("config"):
        kubeconfig, leader_elect = scheduler_config(flags["config"])
        flag = "--config clientConnection.kubeconfig"
    if flags.get("kubeconfig"):
        if flags.get("config"):
            warn("--kubeconfig is ignored because --config is set")
        else:
            warn("--kubeconfig is deprecated: put clientConnection.kubeconfig in the --config file")
            kubeconfig, flag = flags["kubeconfig"], "--kubeconfig"
    if not kubeconfig:
        raise Fatal("invalid configuration: no configuration has been provided (set clientConnection.kubeconfig in --config)")
    if "leader-elect" in flags:
        leader_elect = flags["leader-elect"]
    return run_component("kube-scheduler", flags, kubeconfig, flag, 10259, leader_elect)


# ---------------------------------------------------------------------------------------------

def program_name():
    name = os.environ.get("HARDWAY_STANDIN_PROGRAM") or os.path.basename(sys.argv[0])
    for candidate in PROGRAMS:
        if name == candidate or name.startswith(candidate + "."):
            return candidate
    return name


def main():
    program = program_name()
    known = {"kube-apiserver": APISERVER_FLAGS, "kube-controller-manager": CONTROLLER_MANAGER_FLAGS,
             "kube-scheduler": SCHEDULER_FLAGS}.get(program)
    if known is None:
        sys.stderr.write("hardway stand-in: install me as one of %s (or set HARDWAY_STANDIN_PROGRAM)\n" % ", ".join(PROGRAMS))
        return 2
    try:
        flags = parse_flags(program, sys.argv[1:], known)
        if flags.get("help"):
            sys.stdout.write(usage(program, known))
            return 0
        if "version" in flags and flags["version"] != "false":
            sys.stdout.write("Kubernetes v%s\n" % KUBERNETES_VERSION)
            return 0
        if program == "kube-apiserver":
            require(flags, APISERVER_REQUIRED)
            if os.environ.get("HARDWAY_STANDIN_CHECK_FLAGS") == "1":
                ApiServer(flags).validate()
                return 0
            info("Version: v%s (hardway stand-in)" % KUBERNETES_VERSION)
            return ApiServer(flags).run()
        if program == "kube-controller-manager":
            if os.environ.get("HARDWAY_STANDIN_CHECK_FLAGS") == "1":
                require(flags, CONTROLLER_MANAGER_REQUIRED)
                return 0
            info("Version: v%s (hardway stand-in)" % KUBERNETES_VERSION)
            return controller_manager(flags)
        if os.environ.get("HARDWAY_STANDIN_CHECK_FLAGS") == "1":
            if not (flags.get("config") or flags.get("kubeconfig")):
                raise Fatal("[--config or --kubeconfig must be specified]")
            return 0
        info("Version: v%s (hardway stand-in)" % KUBERNETES_VERSION)
        return scheduler(flags)
    except Fatal as exc:
        sys.stderr.write("Error: %s\n" % exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
