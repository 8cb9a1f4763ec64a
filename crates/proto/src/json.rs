//! The proto3 JSON mapping of Chancery messages (feature `json`), driven by the descriptors in
//! [`FILE_DESCRIPTOR_SET`](crate::FILE_DESCRIPTOR_SET), so the JSON form is exactly the one the
//! API documents: lowerCamelCase field names, enum values by name, timestamps in RFC 3339,
//! 64-bit integers as strings, default values left out.
//!
//! Reading accepts both the lowerCamelCase (`displayName`) and the proto (`display_name`) field
//! names, and refuses unknown fields, so a misspelt field is an error rather than silently lost.
//!
//! A bundle file is the JSON form of [`gateway::v1::Bundle`](crate::gateway::v1::Bundle):
//!
//! ```
//! let bundle = chancery_proto::bundle_from_json(r#"{
//!     "episode": {"name": "episodes/example", "title": "An example"},
//!     "actors": [{"name": "actors/france", "kind": "ACTOR_KIND_STATE", "display_name": "France"}]
//! }"#).unwrap();
//! assert_eq!(bundle.actors[0].display_name, "France");
//! assert!(chancery_proto::bundle_to_json(&bundle).contains(r#""displayName": "France""#));
//! ```

use std::sync::LazyLock;

use prost_reflect::{DescriptorPool, DeserializeOptions, DynamicMessage, SerializeOptions};

use crate::gateway::v1::Bundle;

/// Full protobuf name of [`Bundle`].
pub const BUNDLE_MESSAGE: &str = "chancery.gateway.v1.Bundle";

/// Every Chancery message (and the well-known types they use), decoded once.
static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    DescriptorPool::decode(crate::FILE_DESCRIPTOR_SET)
        .expect("the descriptor set built with this crate decodes")
});

/// The descriptor pool of every Chancery message, for callers that need reflection.
pub fn descriptor_pool() -> &'static DescriptorPool {
    &POOL
}

fn descriptor(full_name: &str) -> Result<prost_reflect::MessageDescriptor, String> {
    POOL.get_message_by_name(full_name)
        .ok_or_else(|| format!("no message named {full_name} in the Chancery API"))
}

/// Reads `json` as the message `full_name` (such as `chancery.actors.v1.Actor`) in the proto3
/// JSON mapping. The error says what is wrong and where (line and column).
pub fn message_from_json<M: prost::Message + Default>(
    full_name: &str,
    json: &str,
) -> Result<M, String> {
    let desc = descriptor(full_name)?;
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let dynamic = DynamicMessage::deserialize_with_options(
        desc,
        &mut deserializer,
        &DeserializeOptions::new().deny_unknown_fields(true),
    )
    .map_err(|error| format!("not a valid {full_name} in JSON: {error}"))?;
    deserializer
        .end()
        .map_err(|error| format!("not a valid {full_name} in JSON: {error}"))?;
    dynamic
        .transcode_to::<M>()
        .map_err(|error| format!("{full_name} does not match its descriptor: {error}"))
}

/// Writes `message`, of type `full_name`, as pretty-printed JSON in the proto3 JSON mapping.
pub fn message_to_json<M: prost::Message>(full_name: &str, message: &M) -> Result<String, String> {
    let desc = descriptor(full_name)?;
    let mut dynamic = DynamicMessage::new(desc);
    dynamic
        .transcode_from(message)
        .map_err(|error| format!("{full_name} does not match its descriptor: {error}"))?;
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(
        &mut out,
        serde_json::ser::PrettyFormatter::with_indent(b"  "),
    );
    dynamic
        .serialize_with_options(&mut serializer, &SerializeOptions::new())
        .map_err(|error| format!("{full_name} cannot be written as JSON: {error}"))?;
    out.push(b'\n');
    String::from_utf8(out).map_err(|error| format!("JSON is not UTF-8: {error}"))
}

/// Reads a bundle file: the JSON form of `chancery.gateway.v1.Bundle`.
pub fn bundle_from_json(json: &str) -> Result<Bundle, String> {
    message_from_json(BUNDLE_MESSAGE, json)
}

/// Writes a bundle as a bundle file: pretty-printed JSON ending with a newline.
pub fn bundle_to_json(bundle: &Bundle) -> String {
    message_to_json(BUNDLE_MESSAGE, bundle)
        .expect("a Bundle always has a JSON form: its descriptor is built into this crate")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actors::v1::{Actor, ActorKind};
    use crate::common::v1::FuzzyDate;
    use crate::gateway::v1::Episode;

    fn sample() -> Bundle {
        Bundle {
            episode: Some(Episode {
                name: "episodes/example".into(),
                title: "Example".into(),
                span: Some(FuzzyDate {
                    edtf: "2022-03".into(),
                    ..Default::default()
                }),
                create_time: Some(prost_types::Timestamp {
                    seconds: 1_648_000_000,
                    nanos: 0,
                }),
                ..Default::default()
            }),
            actors: vec![Actor {
                name: "actors/france".into(),
                kind: ActorKind::State as i32,
                display_name: "France".into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn bundles_survive_a_round_trip_in_the_proto3_mapping() {
        let json = bundle_to_json(&sample());
        assert!(json.contains(r#""displayName": "France""#), "{json}");
        assert!(json.contains(r#""kind": "ACTOR_KIND_STATE""#), "{json}");
        assert!(
            json.contains(r#""createTime": "2022-03-23T01:46:40Z""#),
            "{json}"
        );
        assert!(!json.contains("summary"), "defaults are left out: {json}");
        assert!(json.ends_with("}\n"));
        assert_eq!(bundle_from_json(&json).unwrap(), sample());
    }

    #[test]
    fn proto_field_names_are_accepted_too() {
        let bundle = bundle_from_json(
            r#"{"actors": [{"name": "actors/france", "display_name": "France", "kind": 2}]}"#,
        )
        .unwrap();
        assert_eq!(bundle.actors[0].display_name, "France");
        assert_eq!(bundle.actors[0].kind, ActorKind::State as i32);
    }

    #[test]
    fn mistakes_are_refused_with_their_place() {
        let unknown =
            bundle_from_json("{\n  \"actors\": [{\"displayNme\": \"France\"}]\n}").unwrap_err();
        assert!(
            unknown.contains("displayNme") && unknown.contains("line 2"),
            "{unknown}"
        );
        let bad_enum =
            bundle_from_json(r#"{"actors": [{"kind": "ACTOR_KIND_PLANET"}]}"#).unwrap_err();
        assert!(bad_enum.contains("ACTOR_KIND_PLANET"), "{bad_enum}");
        assert!(bundle_from_json("{} trailing").is_err());
        assert!(bundle_from_json("[]").is_err());
    }
}
