//! The room's stream as the media-server hooks report it: publish, update, unpublish.

use redis::Value;

use super::reply::{int, status};
use super::{Store, StoreResult};
use crate::domain::ids::LiveId;

impl Store {
    /// A publish of the room's stream (or its periodic update) starts or goes on: allowed for a
    /// room that exists and has not ended, before `expires_at` (unix seconds by Redis's clock; 0:
    /// not checked). Sets `stream_status` 1 and counts as the anchor's heartbeat. Refusals are
    /// `NotFound` and `Conflict` (ended, expired). One round trip.
    pub async fn stream_publish(&self, id: &LiveId, expires_at: i64) -> StoreResult<()> {
        let args = [self.window().to_string(), expires_at.max(0).to_string()];
        let answer: Value = self
            .eval(&self.scripts().stream_publish, &self.keys().room(id), &args)
            .await?;
        let (_, rest) = status(&answer, "stream_publish")?;
        // the anchor's heartbeat may have written `anchor_online` to the room's event log
        if rest.first().and_then(int).unwrap_or(0) > 0 {
            self.note_events(id);
        }
        let due_in = rest.get(1).and_then(int).unwrap_or(-1);
        if due_in >= 0 {
            self.schedule_sweep_after(id, due_in).await;
        }
        if rest.get(2).and_then(int) == Some(1) {
            self.stream_status_changed(id).await;
        }
        Ok(())
    }

    /// The list card shows `stream_status`: refreshed before the hook answers (a periodic
    /// update that changes nothing costs nothing), then this replica's cached pages are dropped,
    /// so that its next list shows it. A failure is logged; the card catches up at the room's
    /// next index change or announcement.
    async fn stream_status_changed(&self, id: &LiveId) {
        match self.room(id).await {
            Ok(room) => {
                if let Err(e) = self.write_card(&room).await {
                    tracing::warn!(live_id = %id, error = %e, "refreshing the room's card failed");
                }
            }
            Err(e) => {
                tracing::warn!(live_id = %id, error = %e, "reading the room for its card failed")
            }
        }
        self.pages().changed();
    }

    /// The room's stream stopped publishing: `stream_status` 0 (`NotFound` for no room).
    pub async fn stream_unpublish(&self, id: &LiveId) -> StoreResult<()> {
        let answer: Value = self
            .eval(&self.scripts().stream_unpublish, &self.keys().room(id), &[])
            .await?;
        let (_, rest) = status(&answer, "stream_unpublish")?;
        if rest.first().and_then(int) == Some(1) {
            self.stream_status_changed(id).await;
        }
        Ok(())
    }
}
