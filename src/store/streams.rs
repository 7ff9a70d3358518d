//! The room's stream as the media-server hooks report it: publish, update, unpublish.

use super::calls;
use std::sync::Arc;

use super::core::Core;
use super::{Rooms, StoreResult};
use crate::domain::ids::LiveId;

impl Rooms {
    /// A publish of the room's stream (or its periodic update) starts or goes on: allowed for a
    /// room that exists and has not ended, before `expires_at` (unix seconds by Redis's clock; 0:
    /// not checked). Sets `stream_status` 1 and counts as the anchor's heartbeat. Refusals are
    /// `NotFound` and `Conflict` (ended, expired). One round trip.
    pub async fn stream_publish(&self, id: &LiveId, expires_at: i64) -> StoreResult<()> {
        let published = self
            .call(&calls::StreamPublish {
                room: id,
                window_ms: self.window(),
                expires_at: u64::try_from(expires_at).ok().filter(|&at| at > 0),
            })
            .await?;
        // the anchor's heartbeat may have written `anchor_online` to the room's event log
        if published.events_written {
            self.note_events(id);
        }
        if let Some(due_in) = published.due_in_ms {
            self.schedule_sweep_after(id, due_in as i64).await;
        }
        if published.stream_status_changed {
            self.stream_status_changed(id).await;
        }
        Ok(())
    }

    /// The room's stream stopped publishing: `stream_status` 0 (`NotFound` for no room).
    pub async fn stream_unpublish(&self, id: &LiveId) -> StoreResult<()> {
        let unpublished = self.call(&calls::StreamUnpublish { room: id }).await?;
        if unpublished.stream_status_changed {
            self.stream_status_changed(id).await;
        }
        Ok(())
    }
}

impl Core {
    /// The list card shows `stream_status`: refreshed before the hook answers (a periodic
    /// update that changes nothing costs nothing), then this replica's cached pages are dropped,
    /// so that its next list shows it. A failure is logged; the card catches up at the room's
    /// next index change or announcement.
    async fn stream_status_changed(self: &Arc<Self>, id: &LiveId) {
        match self.read_room(id).await {
            Ok(room) => {
                if let Err(e) = self.write_card(&room).await {
                    tracing::warn!(live_id = %id, error = %e, "refreshing the room's card failed");
                }
            }
            Err(e) => {
                tracing::warn!(live_id = %id, error = %e, "reading the room for its card failed")
            }
        }
        self.index_changed();
    }
}
