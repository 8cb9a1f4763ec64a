//! HTTP/2 written and read by hand on a raw TCP connection, for tests that must behave as no
//! well-mannered client would: streams past the advertised limit, requests whose body never
//! comes, a look at the server's first SETTINGS frame.

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// The client connection preface.
pub(crate) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Frame types used here.
pub(crate) const HEADERS: u8 = 0x1;
pub(crate) const RST_STREAM: u8 = 0x3;
pub(crate) const SETTINGS: u8 = 0x4;
pub(crate) const GOAWAY: u8 = 0x7;
/// Flags: ACK on SETTINGS, END_HEADERS on HEADERS.
pub(crate) const ACK: u8 = 0x1;
pub(crate) const END_HEADERS: u8 = 0x4;

/// One frame read from a connection: type, flags, stream id, payload.
pub(crate) type Frame = (u8, u8, u32, Vec<u8>);

/// One HTTP/2 frame: length, type, flags, stream id, payload.
pub(crate) fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let length = u32::try_from(payload.len()).expect("a small frame");
    let mut bytes = length.to_be_bytes()[1..].to_vec();
    bytes.extend([kind, flags]);
    bytes.extend(stream.to_be_bytes());
    bytes.extend(payload);
    bytes
}

/// Reads the next frame from `stream`.
pub(crate) async fn read_frame(stream: &mut TcpStream) -> std::io::Result<Frame> {
    let mut header = [0u8; 9];
    stream.read_exact(&mut header).await?;
    let length = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
    let id = u32::from_be_bytes([header[5], header[6], header[7], header[8]]) & 0x7fff_ffff;
    let mut payload = vec![0u8; length];
    stream.read_exact(&mut payload).await?;
    Ok((header[3], header[4], id, payload))
}

/// An HPACK string literal (no Huffman coding; shorter than 127 bytes).
fn hpack_string(block: &mut Vec<u8>, text: &str) {
    block.push(
        u8::try_from(text.len())
            .ok()
            .filter(|n| *n < 127)
            .expect("a short string"),
    );
    block.extend(text.as_bytes());
}

/// The header block of a gRPC request to `path` (such as
/// `/chancery.actors.v1.ActorService/GetActor`). Every field is a literal without indexing, so
/// the block adds nothing to the dynamic table and serves any number of streams as it is.
pub(crate) fn grpc_request_headers(path: &str) -> Vec<u8> {
    let mut block = vec![0x83, 0x86]; // :method POST, :scheme http (static table entries)
    block.push(0x04); // :path, literal value, not indexed
    hpack_string(&mut block, path);
    block.push(0x01); // :authority
    hpack_string(&mut block, "localhost");
    block.extend([0x0f, 0x10]); // content-type (static entry 31)
    hpack_string(&mut block, "application/grpc");
    block.push(0x00); // a new name
    hpack_string(&mut block, "te");
    hpack_string(&mut block, "trailers");
    block
}
