#!/usr/bin/env python3
"""A Chorus server plugin in Python, using only grpcio: the protocol is language-neutral.

What it does:
- MessageWillBePosted: a message starting with "py:" gets " (via python)" appended;
  anything else goes through unchanged.
- ServeHTTP: GET /ping answers "pong" (text/plain); anything else 404.

What it must do to be a plugin (the Rust SDK's `serve` does the same):
1. Refuse to run without the magic cookie (CHORUS_PLUGIN) the server sets.
2. Serve the Hooks service and grpc.health.v1 (service "plugin" SERVING) on a Unix
   socket in $PLUGIN_UNIX_SOCKET_DIR.
3. Print one handshake line `1|1|unix|<socket path>|grpc` on stdout.
4. Exit when stdin reaches end of file (the server died) or on SIGTERM.

The gRPC stubs are generated from the proto files of chorus-plugin-protocol with
grpc_tools (pip install -r requirements.txt) at first start, into generated/<hash of
the protos>/ next to this file (or the temporary folder if that is read-only), and
reused while the protos are unchanged. The protos are looked up in $CHORUS_PLUGIN_PROTO_DIR,
then ./proto next to this file (ship them there in a bundle), then the repository's
crates/chorus-plugin-protocol/proto. `./plugin.py --generate` generates them ahead of
time (for a bundle that ships generated/ instead of the protos) and prints where.
"""

import hashlib
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from concurrent import futures

MAGIC_COOKIE_KEY = "CHORUS_PLUGIN"
MAGIC_COOKIE_VALUE = "d1a6c9e3f0b84c27a5e1chorus"
APP_PROTOCOL_VERSION = 1
HEALTH_SERVICE = "plugin"
PROTO_FILES = [
    "chorus/plugin/v1/types.proto",
    "chorus/plugin/v1/hooks.proto",
    "chorus/plugin/v1/api.proto",
]

HERE = os.path.dirname(os.path.abspath(__file__))


# ----- Stubs -----------------------------------------------------------------------


def find_proto_dir():
    candidates = [
        os.environ.get("CHORUS_PLUGIN_PROTO_DIR"),
        os.path.join(HERE, "proto"),
        os.path.join(HERE, "..", "..", "crates", "chorus-plugin-protocol", "proto"),
    ]
    for candidate in candidates:
        if candidate and all(os.path.isfile(os.path.join(candidate, f)) for f in PROTO_FILES):
            return os.path.abspath(candidate)
    return None


def proto_hash(proto_dir):
    digest = hashlib.sha256()
    for name in PROTO_FILES:
        with open(os.path.join(proto_dir, name), "rb") as f:
            digest.update(name.encode() + b"\0" + f.read())
    return digest.hexdigest()[:16]


def generate(proto_dir, out_dir):
    """Runs grpc_tools' bundled protoc; raises on failure."""
    import grpc_tools
    from grpc_tools import protoc

    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    args = [
        "grpc_tools.protoc",
        f"-I{proto_dir}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *PROTO_FILES,
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed on {proto_dir}")


def ensure_stubs():
    """Returns a folder holding the stubs for the current protos, generating it if needed.

    Each version of the protos gets its own folder, created by renaming a finished
    temporary folder, so plugin processes starting at once never see half a folder.
    """
    proto_dir = find_proto_dir()
    roots = [os.path.join(HERE, "generated"), os.path.join(tempfile.gettempdir(), "chorus-python-echo-stubs")]
    if proto_dir is None:
        # No protos: use stubs generated ahead of time (`plugin.py --generate`).
        for root in roots:
            if os.path.isdir(root):
                versions = sorted(os.listdir(root))
                if versions:
                    return os.path.join(root, versions[-1])
        raise RuntimeError(
            "no proto files found (set CHORUS_PLUGIN_PROTO_DIR or ship proto/ next to plugin.py) "
            "and no generated stubs"
        )
    version = proto_hash(proto_dir)
    last_error = None
    for root in roots:
        target = os.path.join(root, version)
        if os.path.isfile(os.path.join(target, "chorus", "plugin", "v1", "hooks_pb2_grpc.py")):
            return target
        try:
            os.makedirs(root, exist_ok=True)
            scratch = tempfile.mkdtemp(prefix=".tmp-", dir=root)
        except OSError as error:  # a read-only plugin folder: try the next root
            last_error = error
            continue
        try:
            generate(proto_dir, scratch)
            try:
                os.rename(scratch, target)
            except OSError:
                pass  # another process finished first; its folder is as good
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return target
    raise RuntimeError(f"cannot write generated stubs anywhere: {last_error}")


# ----- grpc.health.v1 --------------------------------------------------------------
#
# The health service has two one-field messages, so instead of generating its stubs
# this encodes them by hand: HealthCheckRequest { string service = 1; } and
# HealthCheckResponse { ServingStatus status = 1; } with SERVING = 1.

SERVING = 1


def _varint(data, i):
    shift = result = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, i
        shift += 7


def decode_health_request(data):
    service, i = "", 0
    while i < len(data):
        key, i = _varint(data, i)
        field, wire_type = key >> 3, key & 7
        if wire_type == 2:
            length, i = _varint(data, i)
            if field == 1:
                service = data[i : i + length].decode("utf-8")
            i += length
        elif wire_type == 0:
            _, i = _varint(data, i)
        elif wire_type == 1:
            i += 8
        elif wire_type == 5:
            i += 4
        else:
            raise ValueError("malformed HealthCheckRequest")
    return service


def encode_health_response(status):
    return bytes([0x08, status])  # field 1, varint


def health_handler(grpc):
    def check(service, context):
        if service in ("", HEALTH_SERVICE):
            return SERVING
        context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {service!r}")

    return grpc.method_handlers_generic_handler(
        "grpc.health.v1.Health",
        {
            "Check": grpc.unary_unary_rpc_method_handler(
                check,
                request_deserializer=decode_health_request,
                response_serializer=encode_health_response,
            )
        },
    )


# ----- Hooks -----------------------------------------------------------------------


def make_hooks(grpc, hooks_pb2, hooks_pb2_grpc, types_pb2):
    class Hooks(hooks_pb2_grpc.HooksServicer):
        """Hooks not defined here answer UNIMPLEMENTED; the server never calls them,
        because Implemented does not list them."""

        def Implemented(self, request, context):
            return hooks_pb2.ImplementedResponse(hooks=["MessageWillBePosted", "ServeHTTP"])

        def MessageWillBePosted(self, request, context):
            if not request.post.message.startswith("py:"):
                # Both fields unset: the post goes through unchanged.
                return hooks_pb2.MessageWillBePostedResponse()
            post = types_pb2.Post()
            post.CopyFrom(request.post)
            post.message += " (via python)"
            return hooks_pb2.MessageWillBePostedResponse(post=post)

        def ServeHTTP(self, request_iterator, context):
            # The first part carries the head, later ones body chunks.
            head, body = None, bytearray()
            for part in request_iterator:
                if head is None and part.HasField("head"):
                    head = part.head
                body.extend(part.body)
            if head is None:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first ServeHTTP message must carry the head")
            if head.method == "GET" and head.path == "/ping":
                status, text = 200, b"pong"
            else:
                status, text = 404, b"404 page not found"
            # The first part carries status and headers, later ones body chunks.
            content_type = types_pb2.Header(name="Content-Type", value="text/plain; charset=utf-8")
            yield hooks_pb2.HttpResponsePart(head=hooks_pb2.HttpResponseHead(status=status, headers=[content_type]))
            yield hooks_pb2.HttpResponsePart(body=text)

    return Hooks()


# ----- The process -----------------------------------------------------------------


def main():
    if sys.argv[1:] == ["--generate"]:
        print(ensure_stubs())
        return 0

    if os.environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        print("This binary is a Chorus plugin; it is started by the Chorus server, not by hand.", file=sys.stderr)
        return 1
    versions = os.environ.get("PLUGIN_PROTOCOL_VERSIONS", "").strip()
    if versions and str(APP_PROTOCOL_VERSION) not in [v.strip() for v in versions.split(",")]:
        print(f"the server speaks plugin protocol {versions}; this plugin speaks {APP_PROTOCOL_VERSION}", file=sys.stderr)
        return 1

    try:
        import grpc
    except ImportError:
        print("python-echo needs grpcio: pip install -r requirements.txt", file=sys.stderr)
        return 1
    sys.path.insert(0, ensure_stubs())
    from chorus.plugin.v1 import hooks_pb2, hooks_pb2_grpc, types_pb2

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    hooks_pb2_grpc.add_HooksServicer_to_server(make_hooks(grpc, hooks_pb2, hooks_pb2_grpc, types_pb2), server)
    server.add_generic_rpc_handlers((health_handler(grpc),))

    socket_dir = os.environ.get("PLUGIN_UNIX_SOCKET_DIR") or tempfile.gettempdir()
    socket_path = os.path.join(socket_dir, f"chorus-python-echo-{os.getpid()}-{time.time_ns():x}.sock")
    server.add_insecure_port("unix:" + socket_path)
    server.start()

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    def watch_stdin():
        # The server holds the other end of stdin; end of file means it died.
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        stop.set()

    threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()

    print(f"1|1|unix|{socket_path}|grpc", flush=True)

    while not stop.wait(timeout=1.0):
        pass
    server.stop(grace=1.5).wait()
    try:
        os.unlink(socket_path)
    except FileNotFoundError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
