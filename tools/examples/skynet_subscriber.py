#!/usr/bin/python3
"""A gap-free skynetd event subscriber for integrators (docs/integration.md).

Needs Debian's python3-zmq and python3-protobuf, and protoc (protobuf-compiler): the Python
protobuf module is generated at start from proto/skynet/v1/events.proto into a temporary
directory, so it always matches the schema next to this script (--proto-dir to point elsewhere).

  skynet_subscriber.py --feed tcp://127.0.0.1:5556 --replay tcp://127.0.0.1:5557
  skynet_subscriber.py ... --from 1732800000000000:41     # resume after that event
  skynet_subscriber.py ... --server-key node.pub --key me.key   # CurveZMQ

Prints one line per event ("EVENT node epoch seq topic-kind camera") and one line per loss
("LOSS node epoch first..last reason"). The repair logic is section 4 of docs/integration.md.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import zmq

HERE = os.path.dirname(os.path.abspath(__file__))


def load_proto(proto_dir):
    out = tempfile.mkdtemp(prefix="skynet-proto-")
    subprocess.run(["protoc", "--python_out=" + out, "-I", proto_dir,
                    os.path.join(proto_dir, "skynet/v1/events.proto")], check=True)
    sys.path.insert(0, out)
    from skynet.v1 import events_pb2  # noqa: E402
    return events_pb2


def read_key_field(path, name):
    with open(path) as f:
        for line in f:
            if line.strip().startswith(name + ":"):
                return line.split(":", 1)[1].strip()
    raise SystemExit(f"{path}: no '{name}:' line")


class Node:
    def __init__(self, epoch, seq):
        self.epoch, self.seq, self.closed = epoch, seq, False


class Subscriber:
    def __init__(self, pb, args):
        self.pb, self.args = pb, args
        self.ctx = zmq.Context()
        self.feed = self.ctx.socket(zmq.SUB)
        self.feed.setsockopt(zmq.MAXMSGSIZE, 1 << 20)
        self.curve(self.feed)
        self.feed.setsockopt(zmq.SUBSCRIBE, b"")  # everything: gap detection needs every seq
        self.feed.connect(args.feed)
        self.replay = None
        self.nodes = {}
        self.request_id = 0
        self.from_pos = None
        if args.from_:
            e, s = args.from_.split(":")
            self.from_pos = (int(e), int(s))

    def curve(self, sock):
        if self.args.server_key:
            key = self.args.server_key
            if os.path.exists(key):
                key = read_key_field(key, "public-key")
            sock.curve_serverkey = key.encode()
            sock.curve_publickey = read_key_field(self.args.key, "public-key").encode()
            sock.curve_secretkey = read_key_field(self.args.key, "secret-key").encode()

    def open_replay(self):
        if self.replay is not None:
            self.replay.close(linger=0)
        self.replay = self.ctx.socket(zmq.DEALER)
        self.replay.setsockopt(zmq.LINGER, 0)
        self.replay.setsockopt(zmq.MAXMSGSIZE, 64 << 20)
        self.curve(self.replay)
        self.replay.connect(self.args.replay)

    # --- output ----------------------------------------------------------------------------
    def deliver(self, node, ev, replayed):
        node.epoch, node.seq, node.closed = ev.epoch, ev.seq, False
        kind = ev.WhichOneof("payload") or "unknown"
        print(f"EVENT {ev.node_id} {ev.epoch} {ev.seq} {kind} {ev.camera_id or '-'}"
              f"{' (replayed)' if replayed else ''}", flush=True)

    def lose(self, node_id, epoch, first, last, reason):
        name = self.pb.GapReason.Name(reason)
        print(f"LOSS {node_id} {epoch} {first}..{last if last else 'end'} {name}", flush=True)

    def lose_up_to(self, node_id, node, ev, reason):
        if ev.epoch == node.epoch and not node.closed:
            if ev.seq > node.seq + 1:
                self.lose(node_id, ev.epoch, node.seq + 1, ev.seq - 1, reason)
        else:
            if not node.closed:
                self.lose(node_id, node.epoch, node.seq + 1, 0, reason)
            if ev.seq > 1:
                self.lose(node_id, ev.epoch, 1, ev.seq - 1, reason)

    # --- the algorithm -----------------------------------------------------------------------
    @staticmethod
    def seen(n, epoch, seq):
        return epoch < n.epoch or (epoch == n.epoch and seq <= n.seq)

    @staticmethod
    def is_next(n, epoch, seq):
        if n.closed:
            return epoch > n.epoch and seq == 1
        return epoch == n.epoch and seq == n.seq + 1

    def ask(self, node_id, n):
        self.request_id += 1
        req = self.pb.ReplayRequest(node_id=node_id, epoch=n.epoch, after_seq=n.seq,
                                    max_events=1000, request_id=self.request_id)
        self.replay.send_multipart([b"", req.SerializeToString()])
        if not self.replay.poll(self.args.replay_timeout_ms):
            return None
        frames = self.replay.recv_multipart()
        resp = self.pb.ReplayResponse()
        resp.ParseFromString(frames[-1])
        return resp if resp.request_id == self.request_id else None

    def repair(self, node_id, n, ev):
        pb = self.pb
        if not self.args.replay:
            self.lose_up_to(node_id, n, ev, pb.GAP_REASON_NO_REPLAY)
            self.deliver(n, ev, False)
            return
        failures = 0
        while not self.seen(n, ev.epoch, ev.seq) and not self.is_next(n, ev.epoch, ev.seq):
            resp = self.ask(node_id, n)
            if resp is None or not resp.ok:
                failures = 3 if resp is not None else failures + 1
                if failures < 3:
                    self.open_replay()
                    continue
                self.lose_up_to(node_id, n, ev, pb.GAP_REASON_UNAVAILABLE)
                break
            failures = 0
            before = (n.epoch, n.seq, n.closed)
            for item in resp.items:
                which = item.WhichOneof("item")
                if which == "event":
                    e = item.event
                    if self.seen(n, e.epoch, e.seq):
                        continue
                    if not self.is_next(n, e.epoch, e.seq):
                        self.lose_up_to(node_id, n, e, pb.GAP_REASON_NOT_JOURNALED)
                    self.deliver(n, e, True)
                elif which == "gap":
                    g = item.gap
                    if g.epoch < n.epoch or (g.epoch == n.epoch and g.last_seq and
                                             g.last_seq <= n.seq):
                        continue
                    first = max(g.first_seq, n.seq + 1) if g.epoch == n.epoch else 1
                    self.lose(node_id, g.epoch, first, g.last_seq, g.reason)
                    n.epoch = g.epoch
                    if g.last_seq == 0:
                        n.closed = True
                    else:
                        n.seq, n.closed = g.last_seq, False
                elif which == "epoch_end":
                    end = item.epoch_end
                    if end.epoch < n.epoch:
                        continue
                    if end.epoch == n.epoch and not n.closed and n.seq < end.last_seq:
                        self.lose(node_id, end.epoch, n.seq + 1, end.last_seq,
                                  pb.GAP_REASON_NOT_JOURNALED)
                    n.epoch, n.seq, n.closed = end.epoch, max(n.seq, end.last_seq), True
            if resp.end_of_journal or (n.epoch, n.seq, n.closed) == before:
                if not self.seen(n, ev.epoch, ev.seq) and not self.is_next(n, ev.epoch, ev.seq):
                    self.lose_up_to(node_id, n, ev, pb.GAP_REASON_NOT_JOURNALED)
                break
        if not self.seen(n, ev.epoch, ev.seq):
            self.deliver(n, ev, False)

    def on_live(self, ev):
        if ev.seq == 0:  # not sequenced (not from skynetd's bus): nothing to check
            print(f"EVENT {ev.node_id or '-'} 0 0 {ev.WhichOneof('payload')} {ev.camera_id or '-'}",
                  flush=True)
            return
        n = self.nodes.get(ev.node_id)
        if n is None:
            if self.from_pos is not None:
                n = Node(*self.from_pos)
                n.closed = n.epoch == 0  # 0:0 = from the oldest retained event
                self.from_pos = None
            else:
                n = Node(ev.epoch, ev.seq - 1)
            self.nodes[ev.node_id] = n
        if self.seen(n, ev.epoch, ev.seq):
            return  # duplicate
        if self.is_next(n, ev.epoch, ev.seq):
            self.deliver(n, ev, False)
        else:
            self.repair(ev.node_id, n, ev)

    def run(self):
        if self.args.replay:
            self.open_replay()
        while True:
            topic, body = self.feed.recv_multipart()
            ev = self.pb.Event()
            ev.ParseFromString(body)
            self.on_live(ev)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--feed", default="tcp://127.0.0.1:5556")
    p.add_argument("--replay", default="", help="replay endpoint (empty: report gaps only)")
    p.add_argument("--from", dest="from_", default="", help="EPOCH:SEQ to resume after")
    p.add_argument("--server-key", default="", help="node public key (Z85) or its .pub file")
    p.add_argument("--key", default="", help="this client's .key file (skynetctl keygen)")
    p.add_argument("--replay-timeout-ms", type=int, default=3000)
    p.add_argument("--proto-dir", default=os.path.join(HERE, "..", "..", "proto"))
    args = p.parse_args()
    if bool(args.server_key) != bool(args.key):
        p.error("--server-key and --key go together")
    try:
        Subscriber(load_proto(args.proto_dir), args).run()
    except (KeyboardInterrupt, BrokenPipeError):
        pass


if __name__ == "__main__":
    main()
