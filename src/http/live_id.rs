//! A live_id from the request: a room's id, or 404 without asking Redis (CONTRACT section 8: a
//! live_id not of the server's form names no room). Path parameters take `live_id::Path`, so the
//! mapping happens once, in the extractor; a live_id in a body or a query goes through `parse`.

use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaParamIn, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use super::ApiError;
use crate::domain::ids::LiveId;

/// A live_id not of the server's form names no room: 404 without asking Redis.
pub fn parse(raw: &str) -> Result<LiveId, ApiError> {
    LiveId::parse(raw.trim()).ok_or_else(ApiError::no_such_room)
}

/// The `{live_id}` of a path, parsed: a malformed one answers the contract's 404 (not poem's
/// 400 for a parameter of the wrong form). In the spec it is the string it always was.
///
/// Named `Path` on purpose: poem-openapi binds an argument to the route's path parameters, in
/// their order, when its type's path has a segment named `Path` (it names them `param0`, …).
pub struct Path(pub LiveId);

impl std::ops::Deref for Path {
    type Target = LiveId;

    fn deref(&self) -> &LiveId {
        &self.0
    }
}

impl<'a> ApiExtractor<'a> for Path {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::Parameter];
    const PARAM_IS_REQUIRED: bool = true;

    type ParamType = String;
    type ParamRawType = String;

    fn register(registry: &mut Registry) {
        <String as Type>::register(registry);
    }

    fn param_in() -> Option<MetaParamIn> {
        Some(MetaParamIn::Path)
    }

    fn param_schema_ref() -> Option<MetaSchemaRef> {
        Some(String::schema_ref())
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut RequestBody,
        param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let raw = request.raw_path_param(param_opts.name).unwrap_or_default();
        Ok(Self(parse(raw)?))
    }
}
