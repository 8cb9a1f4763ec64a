"""Reads an episode's view from the Chancery gateway with stubs generated from proto/.

Usage: read_view.py HOST:PORT episodes/ID
Prints one JSON object: the episode title, the timeline (date, precision, subject, kind), the
involved actors, each statement's attribution, and the unreachable parts; or the gRPC status
code when the call fails.
"""

import json
import sys

import grpc

from chancery.common.v1 import common_pb2
from chancery.gateway.v1 import gateway_pb2, gateway_pb2_grpc


def main() -> None:
    target, episode = sys.argv[1], sys.argv[2]
    with grpc.insecure_channel(target) as channel:
        stub = gateway_pb2_grpc.EpisodeServiceStub(channel)
        try:
            view = stub.GetEpisodeView(
                gateway_pb2.GetEpisodeViewRequest(name=episode), timeout=30
            )
        except grpc.RpcError as error:
            print(json.dumps({"code": error.code().name}))
            return
    timeline = [
        {
            "when": entry.when.edtf,
            "precision": common_pb2.DatePrecision.Name(entry.when.precision),
            "subject": entry.subject,
            "kind": entry.WhichOneof("entry"),
        }
        for entry in view.timeline
    ]
    attributions = {
        entry.subject: entry.statement.attribution
        for entry in view.timeline
        if entry.WhichOneof("entry") == "statement"
    }
    print(
        json.dumps(
            {
                "title": view.episode.title,
                "timeline": timeline,
                "actors": sorted(actor.actor.name for actor in view.actors),
                "attributions": attributions,
                "unreachable": list(view.unreachable),
            }
        )
    )


if __name__ == "__main__":
    main()
