#!/usr/bin/python3
"""Checks the include boundaries that CMake cannot enforce.

Every header is included from the source root ("pipeline/core/status.h"), so any target that can
see one area's headers can see them all. This script reads the #include lines of the source tree
and fails on any that crosses a boundary of the one-way dependency rule (docs: shared STYLE):

    core <- ingest, analytics <- daemon <- tools
    proto/ (skynet_protocol, libskynet-client) sits beside core: it may use Status only

  include_rules_test.py [ROOT]       check ROOT (default: this checkout)
  include_rules_test.py --self-test  also prove that a planted violation of each rule is caught
"""
import os
import re
import sys
import tempfile

# (area: path prefix of the including file, forbidden include prefixes, why)
RULES = [
    ("pipeline/core/", ["pipeline/analytics/", "pipeline/ingest/", "daemon/", "skynet/", "tools/",
                        "gst/", "zmq", "google/protobuf/"],
     "core is the bottom layer: it includes nothing above it"),
    ("pipeline/analytics/", ["pipeline/ingest/", "daemon/", "skynet/", "tools/", "gst/", "zmq",
                             "google/protobuf/"],
     "analytics is OpenCV only: never GStreamer, ZeroMQ, protobuf, ingest or the daemon"),
    ("pipeline/ingest/", ["pipeline/analytics/", "daemon/", "skynet/", "tools/", "zmq",
                          "google/protobuf/"],
     "ingest depends on core only"),
    ("proto/", ["pipeline/analytics/", "pipeline/ingest/", "daemon/", "tools/", "gst/",
                "pipeline/core/clock.h", "pipeline/core/logging.h", "pipeline/core/frame.h",
                "pipeline/core/bounded_queue.h"],
     "the protocol and client libraries are installed with pipeline/core/status.h only"),
    ("daemon/", ["tools/", "skynet/client/", "gst/"],
     "the daemon knows no tools and no client library; GStreamer stays in ingest"),
    ("tools/skynetctl/", ["daemon/", "pipeline/analytics/", "pipeline/ingest/", "gst/"],
     "skynetctl uses the public protocol and the client library, never daemon internals"),
    ("tools/relay/", ["daemon/", "pipeline/", "tools/skynetctl/", "gst/"],
     "skynet-relay speaks the public protocol only"),
    ("tools/examples/", ["daemon/", "pipeline/", "tools/", "tests/", "gst/"],
     "the example builds against the installed libskynet-client alone"),
]
# Outside tests/, nothing includes test helpers.
GLOBAL_FORBIDDEN = ["tests/"]

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]')
SCANNED = ("pipeline", "daemon", "proto", "tools")
SUFFIXES = (".h", ".hh", ".hpp", ".cc", ".cpp", ".c", ".in")


def violations(root):
    found = []
    for top in SCANNED:
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if not name.endswith(SUFFIXES):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                with open(path, encoding="utf-8", errors="replace") as f:
                    for lineno, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        inc = m.group(1)
                        for bad in GLOBAL_FORBIDDEN:
                            if inc.startswith(bad):
                                found.append(f"{rel}:{lineno}: #include {inc}: only tests/ "
                                             "includes test helpers")
                        for area, forbidden, why in RULES:
                            if not rel.startswith(area):
                                continue
                            for bad in forbidden:
                                if inc.startswith(bad):
                                    found.append(f"{rel}:{lineno}: #include {inc}: {why}")
    return found


def self_test():
    """Plants one violation per rule in a scratch tree and expects each to be reported."""
    with tempfile.TemporaryDirectory() as tmp:
        planted = 0
        for area, forbidden, _ in RULES:
            d = os.path.join(tmp, area)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "planted.cc"), "w") as f:
                f.write(f'#include "{forbidden[0]}x.h"\n')
            planted += 1
        found = violations(tmp)
        if len(found) != planted:
            print("self-test: expected %d violations, got:\n  %s" % (planted, "\n  ".join(found)))
            return False
    return True


def main(argv):
    args = [a for a in argv[1:] if a != "--self-test"]
    root = args[0] if args else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if "--self-test" in argv and not self_test():
        return 1
    found = violations(root)
    for v in found:
        print(v)
    if found:
        print(f"{len(found)} include(s) cross a dependency boundary")
        return 1
    print("include boundaries hold")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
