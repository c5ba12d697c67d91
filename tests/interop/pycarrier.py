#!/usr/bin/python3
"""pycarrier: a HopTrace carrier written in Python from spec/ and proto/ only (issue 6).

usage:
  pycarrier.py [--proto DIR] [--work DIR] [-v] run -c CONF [--ready FILE] [--tamper MODE]
  pycarrier.py ... trace -c CONF --calling N --called N --time MS [--to PEER] [-o BUNDLE]
               [--tolerance-ms N] [--label TEXT] [--initiator-cert FILE]
               [--created-offset-ms N] [--lifetime-ms N] [--wait-ms N] [--peers-timeout S]
  pycarrier.py ... verify BUNDLE --anchor PUB [--anchor PUB...]

run     keeps sessions with the configured peers and answers traces from its records until
        SIGTERM or SIGINT (exit 0).
trace   starts those sessions, starts one trace (as hop 0 itself, or through --to), waits
        until it finishes, prints the trace as JSON, writes the evidence bundle to -o (after
        verifying it by 11.16.2), and exits: 0 when an origin was reached and the bundle
        verified, 1 otherwise, 3 on errors.
verify  verifies an evidence bundle (11.16.2) and prints JSON: exit 0 verified, 1 not.
"""

import argparse
import json
import logging
import os
import signal
import sys
import tempfile
import threading

sys.dont_write_bytecode = True  # nothing written into the source tree
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)

from hoptrace_py import carrier, cert, codec, keys, trace  # noqa: E402
from hoptrace_py.errors import HtError  # noqa: E402


def _bundle_verify(data, anchors):
    trust = cert.Trust()
    for a in anchors:
        trust.add_anchor(keys.load(a, "anchor-public").sign_key)
    try:
        return carrier.verified_json(trace.verify_bundle(data, trust))
    except HtError as e:
        return {"verified": False, "error": e.token, "index": e.index,
                "step": None if e.step is None else str(e.step), "detail": e.detail}


def cmd_verify(args):
    with open(args.bundle, "rb") as f:
        data = f.read(trace.MAX_BUNDLE + 1)
    out = _bundle_verify(data, args.anchor)
    print(json.dumps(out, indent=1))
    return 0 if out["verified"] else 1


def cmd_run(args):
    c = carrier.Carrier(carrier.Config(args.config), tamper=args.tamper or ())
    for e in c.record_errors:
        logging.warning("records %s line %d: %s: %s", *e)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    c.start()
    if args.ready:
        with open(args.ready + ".tmp", "w") as f:
            f.write(f"{os.getpid()}\n")
        os.rename(args.ready + ".tmp", args.ready)
    while not stop.wait(0.2):
        pass
    c.stop()
    logging.info("stopped")
    return 0


def cmd_trace(args):
    cfg = carrier.Config(args.config)
    c = carrier.Carrier(cfg)
    for e in c.record_errors:
        logging.warning("records %s line %d: %s: %s", *e)
    c.start()
    try:
        need = [args.to.encode()] if args.to else [p for p, a in cfg.peers.items() if a]
        if not c.wait_established(need, args.peers_timeout):
            logging.error("sessions not established with %s within %g s",
                          [p.decode() for p in need if not c.established(p)], args.peers_timeout)
            return 3
        icert = None
        if args.initiator_cert:
            with open(args.initiator_cert, "rb") as f:
                icert = f.read(cert.MAX_CERT + 1)
        it = c.start_trace(args.calling, args.called, args.time,
                           to=args.to.encode() if args.to else None,
                           tolerance_ms=args.tolerance_ms, label=args.label.encode(),
                           initiator_cert=icert, created_offset_ms=args.created_offset_ms,
                           lifetime_ms=args.lifetime_ms, wait_ms=args.wait_ms)
        it.done.wait()
        with c.lock:
            out = carrier.trace_json(it)
            data = c.bundle(it)
        rc = 0 if out["origin"] else 1
        if args.output:
            v = _bundle_verify(data, cfg.anchors)
            out["bundle"] = {"file": args.output, "size": len(data), "verification": v}
            if v["verified"]:
                fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(args.output)))
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.chmod(tmp, 0o644)
                os.rename(tmp, args.output)
            else:
                rc = 1
        print(json.dumps(out, indent=1))
        return rc
    finally:
        c.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--proto", default=os.path.join(here, "..", "..", "proto"))
    ap.add_argument("--work", help="where protoc's output goes (default: a temporary folder)")
    ap.add_argument("-v", "--verbose", action="store_true")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("-c", "--config", required=True)
    r.add_argument("--ready", help="file written (with the PID) once listening")
    r.add_argument("--tamper", action="append", choices=("relay-flip", "own-badsig"),
                   help="misbehave, for negative tests")
    t = sub.add_parser("trace")
    t.add_argument("-c", "--config", required=True)
    t.add_argument("--calling", required=True)
    t.add_argument("--called", required=True)
    t.add_argument("--time", type=int, required=True, help="the call time, epoch ms")
    t.add_argument("--to", help="the peer asked at hop 0 (default: hop 0 here)")
    t.add_argument("--tolerance-ms", type=int)
    t.add_argument("--label", default="")
    t.add_argument("-o", "--output", help="the evidence bundle file")
    t.add_argument("--initiator-cert", help="put this certificate in the request")
    t.add_argument("--created-offset-ms", type=int, default=0)
    t.add_argument("--lifetime-ms", type=int)
    t.add_argument("--wait-ms", type=int, help="give up after this long (default: expiry)")
    t.add_argument("--peers-timeout", type=float, default=10.0)
    v = sub.add_parser("verify")
    v.add_argument("bundle")
    v.add_argument("--anchor", action="append", required=True)
    args = ap.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s pycarrier %(levelname)s %(message)s")
    logging.getLogger("dissononce").setLevel(logging.WARNING)  # it logs every message
    with tempfile.TemporaryDirectory(prefix="pycarrier.") as tmp:
        try:
            codec.init(args.proto, args.work or tmp)
            return {"run": cmd_run, "trace": cmd_trace, "verify": cmd_verify}[args.cmd](args)
        except (carrier.ConfigError, HtError, OSError) as e:
            logging.error("%s", e)
            return 3


if __name__ == "__main__":
    sys.exit(main())
