"""Uses the Chancery gateway from Python with the `chancery_client` package
(built by tests/python/build_client.py) and grpcio-status.

Usage: example.py [HOST:PORT] [episodes/ID]     (defaults: 127.0.0.1:50051, the demo episode)

Reads the episode's view and prints its timeline, then sends a request the gateway refuses
(ListEpisodes with a bad tag, member and page size) and prints the error's details: the
ErrorInfo reason and every BadRequest field violation. With CHANCERY_TOKEN set, it is sent as
the bearer token.
"""

import os
import sys

import grpc
from grpc_status import rpc_status

from chancery_client.chancery.common.v1 import common_pb2
from chancery_client.chancery.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from chancery_client.google.rpc import error_details_pb2


def print_view(stub, metadata, episode: str) -> None:
    view = stub.GetEpisodeView(
        gateway_pb2.GetEpisodeViewRequest(name=episode), metadata=metadata, timeout=30
    )
    print(f"{view.episode.title}: {len(view.timeline)} timeline entries")
    for entry in view.timeline:
        precision = common_pb2.DatePrecision.Name(entry.when.precision)
        print(f"  {entry.when.edtf:<21} {entry.WhichOneof('entry'):<14} {entry.subject} ({precision})")
    if view.unreachable:
        print(f"  (left out, unreachable: {', '.join(view.unreachable)})")


def print_error(error: grpc.RpcError) -> None:
    """The status code and message, then each detail the server packed in the status."""
    print(f"{error.code().name}: {error.details()}")
    status = rpc_status.from_call(error)
    if status is None:
        return
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            print(f"  ErrorInfo reason={info.reason} domain={info.domain}")
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            for violation in bad_request.field_violations:
                print(f"  BadRequest {violation.field}: {violation.description}")
        else:
            print(f"  {detail.type_url}")


def main() -> None:
    target = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
    episode = sys.argv[2] if len(sys.argv) > 2 else "episodes/macron-putin-2022-03"
    token = os.environ.get("CHANCERY_TOKEN")
    metadata = [("authorization", f"Bearer {token}")] if token else []
    with grpc.insecure_channel(target) as channel:
        stub = gateway_pb2_grpc.EpisodeServiceStub(channel)
        try:
            print_view(stub, metadata, episode)
        except grpc.RpcError as error:
            print_error(error)
            sys.exit(1)
        try:
            stub.ListEpisodes(
                gateway_pb2.ListEpisodesRequest(tag="Not A Tag!", member="nobody", page_size=-1),
                metadata=metadata,
                timeout=30,
            )
            sys.exit("the invalid ListEpisodes request was accepted")
        except grpc.RpcError as error:
            print_error(error)


if __name__ == "__main__":
    main()
