"""Reads an episode's view from the Chancery gateway over a channel that compresses its
requests, with stubs generated from proto/.

Usage: compressed_view.py HOST:PORT episodes/ID gzip|deflate|none
Prints one JSON object: the episode title, the number of timeline entries and of unreachable
parts. grpcio always tells the server it accepts gzip answers, so the server answers in gzip.
"""

import json
import sys

import grpc

from chancery.gateway.v1 import gateway_pb2, gateway_pb2_grpc

COMPRESSION = {
    "gzip": grpc.Compression.Gzip,
    "deflate": grpc.Compression.Deflate,
    "none": grpc.Compression.NoCompression,
}


def main() -> None:
    target, episode, compression = sys.argv[1], sys.argv[2], sys.argv[3]
    with grpc.insecure_channel(target, compression=COMPRESSION[compression]) as channel:
        stub = gateway_pb2_grpc.EpisodeServiceStub(channel)
        view = stub.GetEpisodeView(
            gateway_pb2.GetEpisodeViewRequest(name=episode), timeout=30
        )
    print(
        json.dumps(
            {
                "title": view.episode.title,
                "timeline": len(view.timeline),
                "unreachable": len(view.unreachable),
            }
        )
    )


if __name__ == "__main__":
    main()
