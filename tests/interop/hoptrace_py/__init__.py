"""HopTrace, version 1, in Python: a second implementation written from spec/ and proto/ only.

Call codec.init(proto_dir, build_dir) once before using the other modules: it generates the
protobuf classes from proto/hoptrace/v1/*.proto with protoc (nothing of the C build is used).
"""
