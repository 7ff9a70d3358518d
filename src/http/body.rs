//! JSON request bodies, parsed by serde so that every error names its field.
//!
//! poem-openapi's own `Json<T>` reports "expected string, found null (occurred while parsing
//! CreateRoomRequest)" without the field, and turns numbers into strings (`{"title": 5}` would
//! be a title). Here the body type derives `Object` for the spec and `Deserialize` for parsing,
//! and serde_path_to_error names the path of the first problem ("title: invalid type: ...").

use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaMediaType, MetaRequest, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use serde::de::DeserializeOwned;

use super::MAX_BODY_BYTES;
use super::error::ApiError;

pub struct JsonBody<T>(pub T);

impl<'a, T: Type + DeserializeOwned> ApiExtractor<'a> for JsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: "application/json; charset=utf-8",
                schema: T::schema_ref(),
            }],
            required: true,
        })
    }

    async fn from_request(
        _request: &'a Request,
        body: &mut RequestBody,
        _opts: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        match parse(body).await? {
            Some(value) => Ok(Self(value)),
            None => Err(ApiError::BadRequest("a JSON body is required".into()).into()),
        }
    }
}

/// A JSON body that may be left out (or blank): then it is `T::default()`.
pub struct OptionalJsonBody<T>(pub T);

impl<'a, T: Type + DeserializeOwned + Default> ApiExtractor<'a> for OptionalJsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        JsonBody::<T>::request_meta().map(|meta| MetaRequest {
            required: false,
            ..meta
        })
    }

    async fn from_request(
        _request: &'a Request,
        body: &mut RequestBody,
        _opts: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        Ok(Self(parse(body).await?.unwrap_or_default()))
    }
}

/// The body as `T`, naming the field of the first problem; `None` when it is blank.
async fn parse<T: DeserializeOwned>(body: &mut RequestBody) -> poem::Result<Option<T>> {
    let bytes = body
        .take()?
        .into_bytes_limit(MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge(MAX_BODY_BYTES))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if path == "." || path.is_empty() {
            format!("body: {inner}")
        } else {
            format!("{path}: {inner}")
        };
        ApiError::BadRequest(message)
    })?;
    de.end()
        .map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    Ok(Some(value))
}
