//! Wire types of the Looker API 4.0 dialect (tag `looker`, under
//! `/api/4.0`): web login sessions and the login around them, transcribed
//! from Looker's own published schema (`spec/Looker.4.0.oas.json` of
//! looker-open-source/sdk-codegen, API 4.0.26.12) so that Looker's official
//! SDKs work against this server unchanged.
//!
//! Every schema is Looker's, field by field: names, types and formats,
//! nullability, `readOnly`, descriptions. Only the schema names carry a
//! `Looker` prefix (`Session` is the native API's), and Looker's `Error` and
//! `ValidationError` are one schema, [`LookerError`], because dropshot
//! declares one error schema per operation.
//!
//! Looker's schemas have no `required` lists (except on errors): a client
//! asks for a subset of fields with `fields=...`, and unselected keys are
//! left out. So the response types hold every field as an `Option` that is
//! `None` when the field is not selected, and nullable fields as
//! `Option<Option<T>>` whose inner `None` is an explicit JSON `null`.

use async_trait::async_trait;
use dropshot::{
    ApiEndpointBodyContentType, ErrorStatusCode, ExclusiveExtractor, ExtractorMetadata, HttpError,
    HttpResponseError, RequestContext, ServerContext, TypedBody, UntypedBody,
};
use schemars::JsonSchema;
use schemars::r#gen::SchemaGenerator;
use schemars::schema::{
    ArrayValidation, InstanceType, Metadata, ObjectValidation, Schema, SchemaObject,
};
use serde::{Deserialize, Serialize};

/// Where Looker's API lives on this server, as on a Looker instance.
pub const BASE_PATH: &str = "/api/4.0";

// ---------------------------------------------------------------------------
// Responses.

/// Looker's `Session`: a web login session of a user.
///
/// With no `fields` filter every key is present, `null` where there is no
/// value; with one, only the selected keys are. Times are ISO 8601 strings
/// with milliseconds and a `+00:00` offset; ids are strings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
pub struct LookerSession {
    /// Unique Id
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "read_only_string")]
    pub id: Option<String>,
    /// IP address of user when this session was initiated
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "read_only_nullable_string")]
    pub ip_address: Option<Option<String>>,
    /// User's browser type
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "read_only_nullable_string")]
    pub browser: Option<Option<String>>,
    /// User's Operating System
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "read_only_nullable_string")]
    pub operating_system: Option<Option<String>>,
    /// City component of user location (derived from IP address)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "read_only_nullable_string")]
    pub city: Option<Option<String>>,
    /// State component of user location (derived from IP address)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "read_only_nullable_string")]
    pub state: Option<Option<String>>,
    /// Country component of user location (derived from IP address)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "read_only_nullable_string")]
    pub country: Option<Option<String>>,
    /// Type of credentials used for logging in this session
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "read_only_nullable_string")]
    pub credentials_type: Option<Option<String>>,
    /// Time when this session was last extended by the user
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "read_only_nullable_string")]
    pub extended_at: Option<Option<String>>,
    /// Number of times this session was extended
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "read_only_nullable_int64")]
    pub extended_count: Option<Option<i64>>,
    /// Actual user in the case when this session represents one user sudo'ing as another
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "read_only_nullable_string")]
    pub sudo_user_id: Option<Option<String>>,
    /// Time when this session was initiated
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "read_only_nullable_string")]
    pub created_at: Option<Option<String>>,
    /// Time when this session will expire
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "read_only_nullable_string")]
    pub expires_at: Option<Option<String>>,
    /// Link to get this item
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "read_only_nullable_uri_reference")]
    pub url: Option<Option<String>>,
    /// Operations the current user is able to perform on this object
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "read_only_can")]
    pub can: Option<std::collections::BTreeMap<String, bool>>,
}

/// Looker's `AccessToken`: what `login` and `login_user` answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
pub struct LookerAccessToken {
    /// Access Token used for API calls
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "read_only_string")]
    pub access_token: Option<String>,
    /// Type of Token
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "read_only_string")]
    pub token_type: Option<String>,
    /// Number of seconds before the token expires
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "read_only_int64")]
    pub expires_in: Option<i64>,
    /// Refresh token which can be used to obtain a new access token
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "read_only_nullable_string")]
    pub refresh_token: Option<Option<String>>,
}

/// Looker's `ValidationErrorDetail`: one problem with one input.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct LookerValidationErrorDetail {
    /// Field with error
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "read_only_nullable_string")]
    pub field: Option<String>,
    /// Error code
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "read_only_nullable_string")]
    pub code: Option<String>,
    /// Error info message
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "read_only_nullable_string")]
    pub message: Option<String>,
    /// Documentation link
    #[schemars(schema_with = "read_only_nullable_uri_reference")]
    pub documentation_url: String,
}

/// Every error of the Looker dialect: Looker's `Error` (`message`,
/// `documentation_url`), plus `errors` (Looker's `ValidationError`) when
/// the error concerns particular inputs.
///
/// `message` is always a string and every item of `errors` has a
/// `documentation_url`: Looker's Python SDK turns anything else into a
/// deserialization failure instead of its `SDKError`. `documentation_url`
/// points into this server's own documentation, never at Looker's error
/// pages (whose URLs make that SDK fetch Looker's error index on every
/// error).
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct LookerError {
    /// Error details
    #[schemars(schema_with = "read_only_nullable_string")]
    pub message: String,
    /// Error detail array
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "read_only_nullable_error_details")]
    pub errors: Option<Vec<LookerValidationErrorDetail>>,
    /// Documentation link
    #[schemars(schema_with = "read_only_nullable_uri_reference")]
    pub documentation_url: String,
    /// The HTTP status the error is answered with.
    #[serde(skip)]
    pub status: ErrorStatusCode,
    /// Seconds until the rate limit admits another request: the
    /// `Retry-After` header of a 429.
    #[serde(skip)]
    pub retry_after_seconds: Option<u64>,
}

impl std::fmt::Display for LookerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status.as_u16(), self.message)
    }
}

impl From<HttpError> for LookerError {
    /// Only reached for failures outside the handler's reach (a response
    /// that failed to serialize); extractor errors arrive through
    /// `Checked`, and the handler answers them with its documentation URL.
    fn from(error: HttpError) -> Self {
        LookerError {
            message: error.external_message,
            errors: None,
            documentation_url: String::new(),
            status: error.status_code,
            retry_after_seconds: None,
        }
    }
}

impl HttpResponseError for LookerError {
    fn status_code(&self) -> ErrorStatusCode {
        self.status
    }

    fn headers(&self) -> http::HeaderMap {
        crate::retry_after::headers(self.retry_after_seconds)
    }
}

// ---------------------------------------------------------------------------
// Requests.

/// Path of an operation on one user's sessions.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct LookerUserPath {
    /// Id of user
    pub user_id: String,
}

/// Path of an operation on one web login session.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct LookerUserSessionPath {
    /// Id of user
    pub user_id: String,
    /// Id of Web Login Session
    pub session_id: String,
}

/// Path of `login_user`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct LookerLoginUserPath {
    /// Id of user.
    pub user_id: String,
}

/// The `fields` query parameter of the session reads.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct LookerFieldsQuery {
    /// Requested fields.
    #[serde(default)]
    #[schemars(schema_with = "plain_string")]
    pub fields: Option<String>,
}

/// The query parameters of `login` (Looker still accepts the credentials
/// there, though it asks for them in the body).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct LookerLoginQuery {
    /// client_id part of API Key.
    #[serde(default)]
    #[schemars(schema_with = "plain_string")]
    pub client_id: Option<String>,
    /// client_secret part of API Key.
    #[serde(default)]
    #[schemars(schema_with = "plain_string")]
    pub client_secret: Option<String>,
}

/// The body of `login`: the fields of an `application/x-www-form-urlencoded`
/// form, in order, as Looker's clients send them (`client_id`,
/// `client_secret`, and whatever else a client adds, such as the Go SDK's
/// `grant_type`).
///
/// Like [`crate::checked::CheckedBody`], the extractor never fails: a body
/// that cannot be read is kept as the error for the handler to answer in
/// Looker's shape. An empty body is no fields (the credentials may be in
/// the query string); a non-empty one must be form-encoded (a missing
/// `Content-Type` is taken as form-encoded). The spec documents the body as
/// Looker does: an optional form whose schema is `{"type": "object"}`.
#[derive(Debug)]
pub struct LookerLoginForm(Result<Vec<(String, String)>, HttpError>);

impl LookerLoginForm {
    /// The form's fields, or why the body could not be read.
    pub fn into_result(self) -> Result<Vec<(String, String)>, HttpError> {
        self.0
    }
}

#[async_trait]
impl ExclusiveExtractor for LookerLoginForm {
    async fn from_request<Context: ServerContext>(
        rqctx: &RequestContext<Context>,
        request: http::Request<dropshot::Body>,
    ) -> Result<Self, HttpError> {
        let content_type = request.headers().get(http::header::CONTENT_TYPE).cloned();
        let fields = UntypedBody::from_request(rqctx, request)
            .await
            .and_then(|body| parse_form(content_type.as_ref(), body.as_bytes()));
        Ok(LookerLoginForm(fields))
    }

    /// What `TypedBody` of a free-form object documents, but optional:
    /// Looker's `requestBody` has no `required`.
    fn metadata(content_type: ApiEndpointBodyContentType) -> ExtractorMetadata {
        let mut metadata = TypedBody::<LookerLoginBody>::metadata(content_type);
        for parameter in &mut metadata.parameters {
            parameter.required = false;
        }
        metadata
    }
}

/// The schema of `login`'s body: Looker's form fields, both optional here
/// because Looker also takes them as query parameters. (Never
/// deserialized: [`LookerLoginForm`] reads the form.)
#[derive(Debug, Deserialize)]
pub struct LookerLoginBody {}

impl JsonSchema for LookerLoginBody {
    fn schema_name() -> String {
        "LookerLoginBody".to_string()
    }

    fn is_referenceable() -> bool {
        false
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let field = |description: &str| -> Schema {
            SchemaObject {
                instance_type: Some(InstanceType::String.into()),
                metadata: Some(Box::new(Metadata {
                    description: Some(description.to_string()),
                    ..Default::default()
                })),
                ..Default::default()
            }
            .into()
        };
        let mut object = ObjectValidation::default();
        object
            .properties
            .insert("client_id".to_string(), field("client_id part of API Key."));
        object.properties.insert(
            "client_secret".to_string(),
            field("client_secret part of API Key."),
        );
        SchemaObject {
            instance_type: Some(InstanceType::Object.into()),
            object: Some(Box::new(object)),
            ..Default::default()
        }
        .into()
    }
}

/// The fields of a login body (see [`LookerLoginForm`]).
pub fn parse_form(
    content_type: Option<&http::HeaderValue>,
    body: &[u8],
) -> Result<Vec<(String, String)>, HttpError> {
    if body.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(content_type) = content_type {
        let essence = content_type
            .to_str()
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if essence != dropshot::CONTENT_TYPE_URL_ENCODED {
            return Err(HttpError::for_bad_request(
                None,
                format!(
                    "the login body must be {}, not {essence:?}",
                    dropshot::CONTENT_TYPE_URL_ENCODED
                ),
            ));
        }
    }
    let text = std::str::from_utf8(body).map_err(|_| {
        HttpError::for_bad_request(None, "the login body is not UTF-8 text".to_string())
    })?;
    serde_urlencoded::from_str(text).map_err(|error| {
        HttpError::for_bad_request(None, format!("the login body is not a form: {error}"))
    })
}

// ---------------------------------------------------------------------------
// Schemas, exactly as Looker declares them (`readOnly` on every response
// field, `nullable` where Looker has `nullable: true`).

fn property(instance_type: InstanceType, format: Option<&str>, nullable: bool) -> SchemaObject {
    let mut schema = SchemaObject {
        instance_type: Some(instance_type.into()),
        format: format.map(str::to_string),
        metadata: Some(Box::new(Metadata {
            read_only: true,
            ..Default::default()
        })),
        ..Default::default()
    };
    if nullable {
        schema
            .extensions
            .insert("nullable".to_string(), serde_json::Value::Bool(true));
    }
    schema
}

fn read_only_string(_: &mut SchemaGenerator) -> Schema {
    property(InstanceType::String, None, false).into()
}

fn read_only_nullable_string(_: &mut SchemaGenerator) -> Schema {
    property(InstanceType::String, None, true).into()
}

fn read_only_nullable_uri_reference(_: &mut SchemaGenerator) -> Schema {
    property(InstanceType::String, Some("uri-reference"), true).into()
}

fn read_only_int64(_: &mut SchemaGenerator) -> Schema {
    property(InstanceType::Integer, Some("int64"), false).into()
}

fn read_only_nullable_int64(_: &mut SchemaGenerator) -> Schema {
    property(InstanceType::Integer, Some("int64"), true).into()
}

/// `can`: an object of booleans.
fn read_only_can(_: &mut SchemaGenerator) -> Schema {
    let mut schema = property(InstanceType::Object, None, false);
    schema.object = Some(Box::new(ObjectValidation {
        additional_properties: Some(Box::new(
            SchemaObject {
                instance_type: Some(InstanceType::Boolean.into()),
                ..Default::default()
            }
            .into(),
        )),
        ..Default::default()
    }));
    schema.into()
}

fn read_only_nullable_error_details(generator: &mut SchemaGenerator) -> Schema {
    let mut schema = property(InstanceType::Array, None, true);
    schema.array = Some(Box::new(ArrayValidation {
        items: Some(
            generator
                .subschema_for::<LookerValidationErrorDetail>()
                .into(),
        ),
        ..Default::default()
    }));
    schema.into()
}

/// A request parameter: a plain, optional string.
fn plain_string(_: &mut SchemaGenerator) -> Schema {
    SchemaObject {
        instance_type: Some(InstanceType::String.into()),
        ..Default::default()
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn forms_are_parsed_leniently() {
        let form = HeaderValue::from_static("application/x-www-form-urlencoded");
        assert_eq!(parse_form(Some(&form), b"").unwrap(), vec![]);
        assert_eq!(
            parse_form(
                Some(&form),
                b"client_id=a%2Bb&client_secret=c+d&grant_type=x"
            )
            .unwrap(),
            vec![
                ("client_id".to_string(), "a+b".to_string()),
                ("client_secret".to_string(), "c d".to_string()),
                ("grant_type".to_string(), "x".to_string()),
            ]
        );
        let charset = HeaderValue::from_static("Application/X-WWW-Form-Urlencoded; charset=UTF-8");
        assert_eq!(parse_form(Some(&charset), b"a=1").unwrap().len(), 1);
        assert_eq!(parse_form(None, b"a=1").unwrap().len(), 1);
        let json = HeaderValue::from_static("application/json");
        assert_eq!(parse_form(Some(&json), b"").unwrap(), vec![]);
        let error = parse_form(Some(&json), br#"{"client_id":"a"}"#).unwrap_err();
        assert_eq!(error.status_code.as_u16(), 400);
        assert!(parse_form(Some(&form), b"a=\xff").is_err());
    }

    #[test]
    fn an_unselected_field_is_left_out_and_a_missing_value_is_null() {
        let session = LookerSession {
            id: Some("s1".to_string()),
            browser: Some(None),
            extended_count: Some(Some(2)),
            can: Some(Default::default()),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&session).unwrap(),
            serde_json::json!({
                "id": "s1", "browser": null, "extended_count": 2, "can": {}
            })
        );
    }

    #[test]
    fn errors_leave_out_empty_details_and_never_show_their_status() {
        let error = LookerError {
            message: "Not found".to_string(),
            errors: None,
            documentation_url: "http://x/docs/looker/errors#404".to_string(),
            status: ErrorStatusCode::NOT_FOUND,
            retry_after_seconds: None,
        };
        assert_eq!(
            serde_json::to_value(&error).unwrap(),
            serde_json::json!({
                "message": "Not found",
                "documentation_url": "http://x/docs/looker/errors#404"
            })
        );
        assert_eq!(error.status_code().as_u16(), 404);
    }
}
