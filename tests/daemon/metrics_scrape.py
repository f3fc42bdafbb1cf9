#!/usr/bin/python3
"""Scrapes skynetd's /metrics over HTTP and parses it with prometheus_client's parser.

    metrics_scrape.py URL --camera ID [--timeout S]

Polls until the camera is up and has analysed frames (or the timeout passes), then checks that
the families an operator alerts on are present with sane values (docs/operations.md). Prints
what it found and "ok" last; on failure, the reason on stderr and exit status 1.
Used by tests/daemon/skynetd_service_test.cc.
"""
import argparse
import sys
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

# Families every scrape of a node with one running camera and a journal must carry.
REQUIRED = [
    "skynet_info", "skynet_cameras", "skynet_camera_state", "skynet_camera_up",
    "skynet_camera_fps_received", "skynet_camera_fps_analysed", "skynet_camera_frames_dropped",
    "skynet_camera_reconnects", "skynet_camera_stalls", "skynet_camera_analysis_seconds",
    "skynet_events", "skynet_motion", "skynet_feed_subscribers", "skynet_feed_dropped",
    "skynet_journal_bytes", "skynet_journal_errors", "skynet_journal_fsync_seconds",
    "skynet_replay_enabled",
    "process_cpu_seconds", "process_resident_memory_bytes",
]


def scrape(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")
        content_type = response.headers.get("Content-Type", "")
        if not content_type.startswith("text/plain"):
            raise RuntimeError(f"Content-Type {content_type!r}, expected text/plain")
        text = response.read().decode("utf-8")
    # The parser strips _total from counter family names, as Prometheus does.
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(families, name, sample_name, **labels):
    for s in families[name].samples:
        if s.name == sample_name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--camera", required=True)
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()

    deadline = time.monotonic() + args.timeout
    families, last_error = None, "no scrape yet"
    while time.monotonic() < deadline:
        try:
            families = scrape(args.url)
            up = value(families, "skynet_camera_up", "skynet_camera_up", camera=args.camera)
            analysed = value(families, "skynet_camera_analysis_seconds",
                             "skynet_camera_analysis_seconds_count", camera=args.camera)
            if up == 1 and analysed and analysed >= 10:
                break
            last_error = f"camera up={up}, frames timed={analysed}"
        except (OSError, urllib.error.URLError, RuntimeError, ValueError) as e:
            last_error = str(e)
        time.sleep(0.5)
    else:
        print(f"metrics_scrape: timed out: {last_error}", file=sys.stderr)
        return 1

    missing = [n for n in REQUIRED if n not in families]
    if missing:
        print(f"metrics_scrape: missing families: {', '.join(missing)}", file=sys.stderr)
        return 1
    checks = {
        "histogram type": families["skynet_camera_analysis_seconds"].type == "histogram",
        "state online": value(families, "skynet_camera_state", "skynet_camera_state",
                              camera=args.camera, state="online") == 1,
        "queue drops counted": value(families, "skynet_camera_frames_dropped",
                                     "skynet_camera_frames_dropped_total", camera=args.camera,
                                     cause="queue") is not None,
        "status events": (value(families, "skynet_events", "skynet_events_total",
                                camera=args.camera, type="camera_status") or 0) >= 1,
        "journal has bytes": (value(families, "skynet_journal_bytes",
                                    "skynet_journal_bytes") or 0) > 0,
        "process rss": (value(families, "process_resident_memory_bytes",
                              "process_resident_memory_bytes") or 0) > 0,
    }
    failed = [k for k, ok in checks.items() if not ok]
    if failed:
        print(f"metrics_scrape: failed checks: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"families {len(families)}")
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
