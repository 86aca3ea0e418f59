//! Responses rendered as AWS-shaped JSON, driven by the API's own descriptors.
//!
//! A response is encoded back to the wire format and walked with the descriptors `iam-api`
//! embeds ([`iam_api::FILE_DESCRIPTOR_SET`]), so one function renders every response and a
//! field added to the proto appears without a change here. Spelling follows the AWS CLI
//! (see [`crate::names`]): PascalCase fields, enum values without their prefix, times as
//! `2024-05-01T12:00:00+00:00`, and policy documents (`…document` fields) as JSON rather
//! than strings. As AWS does, absent strings, messages and enums are left out, as are empty
//! lists below the top level; numbers and booleans are always shown.

use std::collections::HashMap;
use std::sync::OnceLock;

use prost::Message;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorSet};
use serde_json::{Map, Value};

use crate::names;
use crate::wire::{Reader, Wire};

const TIMESTAMP: &str = ".google.protobuf.Timestamp";

/// Renders a message of the proto type `full_name` (`iam.v1.GetUserResponse`).
pub(crate) fn render<M: Message>(full_name: &str, message: &M) -> Result<Value, String> {
    Schema::get()?.message(&format!(".{full_name}"), &message.encode_to_vec(), true)
}

/// The message and enum descriptors of the API, by full name (`.iam.v1.User`).
#[derive(Debug)]
struct Schema {
    messages: HashMap<String, DescriptorProto>,
    enums: HashMap<String, EnumDescriptorProto>,
}

static SCHEMA: OnceLock<Result<Schema, String>> = OnceLock::new();

impl Schema {
    fn get() -> Result<&'static Schema, String> {
        SCHEMA
            .get_or_init(|| Schema::load(iam_api::FILE_DESCRIPTOR_SET))
            .as_ref()
            .map_err(Clone::clone)
    }

    fn load(encoded: &[u8]) -> Result<Schema, String> {
        let set = FileDescriptorSet::decode(encoded)
            .map_err(|e| format!("cannot decode the api descriptors: {e}"))?;
        let mut schema = Schema {
            messages: HashMap::new(),
            enums: HashMap::new(),
        };
        for file in set.file {
            let scope = match file.package() {
                "" => String::new(),
                package => format!(".{package}"),
            };
            for e in file.enum_type {
                schema.enums.insert(format!("{scope}.{}", e.name()), e);
            }
            for m in file.message_type {
                schema.index(&scope, m);
            }
        }
        Ok(schema)
    }

    fn index(&mut self, scope: &str, mut message: DescriptorProto) {
        let name = format!("{scope}.{}", message.name());
        for e in std::mem::take(&mut message.enum_type) {
            self.enums.insert(format!("{name}.{}", e.name()), e);
        }
        for nested in std::mem::take(&mut message.nested_type) {
            self.index(&name, nested);
        }
        self.messages.insert(name, message);
    }

    fn message(&self, name: &str, bytes: &[u8], top: bool) -> Result<Value, String> {
        let desc = self
            .messages
            .get(name)
            .ok_or_else(|| format!("unknown message `{name}`"))?;
        let mut values: HashMap<i32, Vec<Value>> = HashMap::new();
        let mut reader = Reader::new(bytes);
        while let Some((number, wire)) = reader.field()? {
            let known = desc
                .field
                .iter()
                .find(|f| u64::try_from(f.number()) == Ok(number));
            let Some(field) = known else {
                continue;
            };
            self.decode(field, wire, values.entry(field.number()).or_default())?;
        }
        let mut out = Map::new();
        for field in &desc.field {
            let key = names::field(field.name());
            let value = match values.remove(&field.number()) {
                Some(list) => Some(self.shape(field, list)?),
                None => self.absent(field, top),
            };
            if let Some(value) = value {
                out.insert(key, value);
            }
        }
        Ok(Value::Object(out))
    }

    /// Decodes one occurrence of `field` into `into` (several for a packed list).
    fn decode(
        &self,
        field: &FieldDescriptorProto,
        wire: Wire<'_>,
        into: &mut Vec<Value>,
    ) -> Result<(), String> {
        match (field.r#type(), wire) {
            (Type::Message, Wire::Len(bytes)) if field.type_name() == TIMESTAMP => {
                into.push(timestamp(bytes)?);
            }
            (Type::Message, Wire::Len(bytes)) => {
                into.push(self.message(field.type_name(), bytes, false)?);
            }
            (Type::String | Type::Bytes, wire) => into.push(self.scalar(field, wire)?),
            (_, Wire::Len(packed)) => {
                let mut reader = Reader::new(packed);
                while !reader.is_empty() {
                    let element = match field.r#type() {
                        Type::Double | Type::Fixed64 | Type::Sfixed64 => {
                            Wire::Fixed64(reader.fixed64()?)
                        }
                        Type::Float | Type::Fixed32 | Type::Sfixed32 => {
                            Wire::Fixed32(reader.fixed32()?)
                        }
                        _ => Wire::Varint(reader.varint()?),
                    };
                    into.push(self.scalar(field, element)?);
                }
            }
            (_, wire) => into.push(self.scalar(field, wire)?),
        }
        Ok(())
    }

    fn scalar(&self, field: &FieldDescriptorProto, wire: Wire<'_>) -> Result<Value, String> {
        Ok(match (field.r#type(), wire) {
            (Type::Double, Wire::Fixed64(v)) => number(f64::from_bits(v)),
            (Type::Float, Wire::Fixed32(v)) => number(f64::from(f32::from_bits(v))),
            (Type::Int64, Wire::Varint(v)) => Value::from(v as i64),
            (Type::Uint64, Wire::Varint(v)) | (Type::Fixed64, Wire::Fixed64(v)) => Value::from(v),
            (Type::Int32, Wire::Varint(v)) => Value::from(v as i32),
            (Type::Uint32, Wire::Varint(v)) => Value::from(v as u32),
            (Type::Fixed32, Wire::Fixed32(v)) => Value::from(v),
            (Type::Sfixed32, Wire::Fixed32(v)) => Value::from(v as i32),
            (Type::Sfixed64, Wire::Fixed64(v)) => Value::from(v as i64),
            (Type::Sint32 | Type::Sint64, Wire::Varint(v)) => {
                Value::from((v >> 1) as i64 ^ -((v & 1) as i64))
            }
            (Type::Bool, Wire::Varint(v)) => Value::Bool(v != 0),
            (Type::Enum, Wire::Varint(v)) => self.enum_value(field.type_name(), v as i32),
            (Type::String, Wire::Len(bytes)) => {
                let text = String::from_utf8(bytes.to_vec())
                    .map_err(|_| format!("field `{}` is not UTF-8", field.name()))?;
                document(field.name(), text)
            }
            (Type::Bytes, Wire::Len(bytes)) => {
                Value::String(bytes.iter().map(|b| format!("{b:02x}")).collect())
            }
            _ => {
                return Err(format!(
                    "field `{}` has an unexpected wire type",
                    field.name()
                ));
            }
        })
    }

    fn enum_value(&self, type_name: &str, number: i32) -> Value {
        let Some(desc) = self.enums.get(type_name) else {
            return Value::from(number);
        };
        match desc.value.iter().find(|v| v.number() == number) {
            Some(v) => Value::String(names::enum_value(desc.name(), v.name())),
            None => Value::from(number),
        }
    }

    /// The value of a field that occurred: a list, a map, or the last occurrence.
    fn shape(&self, field: &FieldDescriptorProto, mut list: Vec<Value>) -> Result<Value, String> {
        if field.label() != Label::Repeated {
            return list.pop().ok_or_else(|| "empty field".to_owned());
        }
        if !self.is_map(field) {
            return Ok(Value::Array(list));
        }
        let mut map = Map::new();
        for entry in list {
            let key = match entry.get("Key") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            map.insert(key, entry.get("Value").cloned().unwrap_or(Value::Null));
        }
        Ok(Value::Object(map))
    }

    /// The value shown for a field that did not occur, if any.
    fn absent(&self, field: &FieldDescriptorProto, top: bool) -> Option<Value> {
        if field.label() == Label::Repeated {
            return match (top, self.is_map(field)) {
                (false, _) => None,
                (true, true) => Some(Value::Object(Map::new())),
                (true, false) => Some(Value::Array(Vec::new())),
            };
        }
        if field.proto3_optional() || field.oneof_index.is_some() {
            return None;
        }
        match field.r#type() {
            Type::Message | Type::Group | Type::String | Type::Bytes | Type::Enum => None,
            Type::Bool => Some(Value::Bool(false)),
            _ => Some(Value::from(0)),
        }
    }

    fn is_map(&self, field: &FieldDescriptorProto) -> bool {
        field.r#type() == Type::Message
            && self
                .messages
                .get(field.type_name())
                .and_then(|m| m.options.as_ref())
                .is_some_and(|o| o.map_entry())
    }
}

fn number(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// A `…document` field holding JSON is shown as JSON, as the AWS CLI does.
fn document(field_name: &str, text: String) -> Value {
    if field_name.ends_with("document") {
        if let Ok(parsed @ Value::Object(_)) = serde_json::from_str::<Value>(&text) {
            return parsed;
        }
    }
    Value::String(text)
}

fn timestamp(bytes: &[u8]) -> Result<Value, String> {
    let mut seconds = 0i64;
    let mut reader = Reader::new(bytes);
    while let Some((number, wire)) = reader.field()? {
        if let (1, Wire::Varint(v)) = (number, wire) {
            seconds = v as i64;
        }
    }
    Ok(names::timestamp(seconds).map_or(Value::from(seconds), Value::String))
}

#[cfg(test)]
mod tests {
    use iam_api::v1 as pb;
    use serde_json::json;

    use super::*;

    #[test]
    fn a_user_renders_with_aws_names() {
        let response = pb::CreateUserResponse {
            user: Some(pb::User {
                path: "/".into(),
                user_name: "alice".into(),
                user_id: "AIDAEXAMPLE".into(),
                arn: "arn:aws:iam::111111111111:user/alice".into(),
                create_date: Some(prost_types::Timestamp {
                    seconds: 1_709_210_096,
                    nanos: 0,
                }),
                permissions_boundary: Some(pb::AttachedPermissionsBoundary {
                    permissions_boundary_type: 1,
                    permissions_boundary_arn: "arn:aws:iam::111111111111:policy/b".into(),
                }),
                tags: vec![pb::Tag {
                    key: "desk".into(),
                    value: "fx".into(),
                }],
                ..Default::default()
            }),
            revision: 7,
        };
        let value = render("iam.v1.CreateUserResponse", &response).unwrap();
        assert_eq!(
            value,
            json!({
                "User": {
                    "Path": "/",
                    "UserName": "alice",
                    "UserId": "AIDAEXAMPLE",
                    "Arn": "arn:aws:iam::111111111111:user/alice",
                    "CreateDate": "2024-02-29T12:34:56+00:00",
                    "PermissionsBoundary": {
                        "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
                        "PermissionsBoundaryArn": "arn:aws:iam::111111111111:policy/b"
                    },
                    "Tags": [{"Key": "desk", "Value": "fx"}]
                },
                "Revision": 7
            })
        );
    }

    #[test]
    fn lists_defaults_enums_and_documents() {
        let response = pb::ListAccessKeysResponse {
            access_key_metadata: vec![pb::AccessKeyMetadata {
                user_name: "alice".into(),
                access_key_id: "AKIAEXAMPLE".into(),
                status: pb::StatusType::Inactive as i32,
                create_date: None,
            }],
            ..Default::default()
        };
        let value = render("iam.v1.ListAccessKeysResponse", &response).unwrap();
        assert_eq!(value["AccessKeyMetadata"][0]["Status"], "Inactive");
        assert_eq!(value["IsTruncated"], false);
        assert!(value.get("Marker").is_none());

        let empty = render(
            "iam.v1.ListUsersResponse",
            &pb::ListUsersResponse::default(),
        );
        assert_eq!(empty.unwrap()["Users"], json!([]));

        let version = pb::GetPolicyVersionResponse {
            policy_version: Some(pb::PolicyVersion {
                document: r#"{"Version":"2012-10-17","Statement":[]}"#.into(),
                version_id: "v1".into(),
                is_default_version: true,
                create_date: None,
            }),
        };
        let value = render("iam.v1.GetPolicyVersionResponse", &version).unwrap();
        assert_eq!(value["PolicyVersion"]["Document"]["Version"], "2012-10-17");
    }

    #[test]
    fn decisions_take_aws_spelling() {
        let response = pb::AuthorizeResponse {
            decision: pb::Decision::ImplicitDeny as i32,
            revision: 3,
            ..Default::default()
        };
        let value = render("iam.v1.AuthorizeResponse", &response).unwrap();
        assert_eq!(value["Decision"], "implicitDeny");
        assert_eq!(value["Revision"], 3);
    }

    /// `call!` names a response `iam.v1.<Rpc>Response`: every rpc must follow that.
    #[test]
    fn every_rpc_answers_its_rpc_named_response() {
        let set = FileDescriptorSet::decode(iam_api::FILE_DESCRIPTOR_SET).unwrap();
        let services = set.file.iter().filter(|f| f.package() == "iam.v1");
        let methods: Vec<_> = services
            .flat_map(|f| &f.service)
            .flat_map(|s| &s.method)
            .collect();
        assert!(methods.len() > 80);
        for method in methods {
            let expected = format!(".iam.v1.{}Response", method.name());
            assert_eq!(method.output_type(), expected);
            assert!(Schema::get().unwrap().messages.contains_key(&expected));
        }
    }

    #[test]
    fn unknown_message_is_an_error() {
        assert!(render("iam.v1.NoSuchResponse", &pb::ListUsersResponse::default()).is_err());
    }
}
