//! Publish and playback URLs of a room: the one place they are built (and, later, signed).

use crate::domain::room::Room;

#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// `push_url` = `{publish_base}/{live_id}`
    pub publish_base: String,
    /// `rtmp_url` = `{play_rtmp_base}/{live_id}`
    pub play_rtmp_base: String,
    /// `flv_url` = `{play_http_base}/{live_id}.flv`, `hls_url` = `{play_http_base}/{live_id}.m3u8`
    pub play_http_base: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamUrls {
    pub push_url: String,
    pub rtmp_url: String,
    pub flv_url: String,
    pub hls_url: String,
}

impl StreamConfig {
    /// The room's URLs as `viewer` may see them: the publish URL is a credential, for the anchor only.
    pub fn urls(&self, room: &Room, viewer: &str) -> StreamUrls {
        let id = room.live_id.as_str();
        let trim = |base: &str| base.trim_end_matches('/').to_owned();
        let push_url = if viewer == room.anchor.user_id {
            format!("{}/{id}", trim(&self.publish_base))
        } else {
            String::new()
        };
        let http = trim(&self.play_http_base);
        StreamUrls {
            push_url,
            rtmp_url: format!("{}/{id}", trim(&self.play_rtmp_base)),
            flv_url: format!("{http}/{id}.flv"),
            hls_url: format!("{http}/{id}.m3u8"),
        }
    }
}
