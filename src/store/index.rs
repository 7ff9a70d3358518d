//! The global index (live list, search, per-anchor lists, deadlines and cards in the `{rooms}`
//! slot) brought in line with a room after the room's own atomic change, and repaired in the
//! background when that fails: the room's change has happened and is never undone for it.

use super::calls;
use super::cards;
use std::sync::Arc;

use super::core::Core;
use super::{StoreError, StoreResult};
use crate::domain::ids::LiveId;
use crate::domain::room::{LiveStatus, Room};
use crate::domain::search::room_text;

impl Core {
    /// Brings the global indexes in line with the room. A failure here must not undo the room's
    /// own change, which has happened: it is retried in the background until Redis answers.
    pub(super) async fn sync_index(self: &Arc<Self>, room: &Room) {
        if let Err(e) = self.try_sync_index(room).await {
            tracing::warn!(live_id = %room.live_id, error = %e, "index update failed; retrying");
            self.repair_index_later(room.live_id.clone());
        }
    }

    pub(super) async fn try_sync_index(self: &Arc<Self>, room: &Room) -> StoreResult<()> {
        let t = self.timings();
        let close_at = room.anchor_seen_ms + t.anchor_close_ms as i64;
        let purge_at = if room.live_status == LiveStatus::Ended && t.ended_retention_ms > 0 {
            room.ended_ms + t.ended_retention_ms as i64
        } else {
            0
        };
        let text = room_text(&room.title, &room.anchor.looks.nick);
        let card = cards::encode(room);
        let synced = self
            .call(&calls::IndexSync {
                room: &room.live_id,
                version: room.version,
                status: calls::Indexed::Status(room.live_status),
                created_ms: room.created_ms,
                started_ms: room.started_ms,
                close_at_ms: close_at,
                purge_at_ms: purge_at,
                text: &text,
                anchor: &room.anchor.user_id,
                card: Some(&card),
            })
            .await;
        // this replica's own change shows at once in its own lists (src/pages.rs)
        self.index_changed();
        synced?;
        Ok(())
    }

    /// Refreshes the room's card with the counts of `room` (its online count as just said),
    /// at the version the index has; off the request's path: a failure leaves the card's counts
    /// until the next announcement. At most once a second per room (lib.lua count_event).
    pub(super) fn refresh_card(self: &Arc<Self>, room: Room) {
        let store = self.clone();
        tokio::spawn(async move {
            if let Err(e) = store.write_card(&room).await {
                tracing::warn!(live_id = %room.live_id, error = %e, "refreshing the room's card failed");
            }
        });
    }

    /// Writes the room's card as `room` shows it, if the index holds the room at its version.
    pub(super) async fn write_card(self: &Arc<Self>, room: &Room) -> StoreResult<()> {
        self.call(&calls::Card {
            room: &room.live_id,
            version: room.version,
            card: &cards::encode(room),
        })
        .await
        .map(|_written| ())
    }

    /// As `refresh_card`, reading the room first (when the caller has no view of it).
    /// `id` may name a shard room (store/shards.rs): the card is its room's, counted over its
    /// shards.
    pub(super) fn refresh_card_of(self: &Arc<Self>, id: &LiveId) {
        let store = self.clone();
        let id = id.room();
        tokio::spawn(async move {
            match store.read_room_over_shards(&id).await {
                Ok(room) if room.member_shards > 1 => {
                    // a sharded room's count is said by the room (store/shards.rs)
                    store.say_count(&room).await;
                    store.refresh_card(room);
                }
                Ok(room) => store.refresh_card(room),
                Err(StoreError::NotFound) => {}
                Err(e) => {
                    tracing::warn!(live_id = %id, error = %e, "reading the room for its card failed")
                }
            }
        });
    }

    pub(super) async fn try_unindex(self: &Arc<Self>, id: &LiveId) -> StoreResult<()> {
        // a delete carries no version, times, text, anchor or card: the script ignores them
        let done = self
            .call(&calls::IndexSync {
                room: id,
                version: 0,
                status: calls::Indexed::Deleted,
                created_ms: 0,
                started_ms: 0,
                close_at_ms: 0,
                purge_at_ms: 0,
                text: "",
                anchor: "",
                card: None,
            })
            .await;
        self.index_changed();
        done?;
        Ok(())
    }

    /// Re-reads the room and syncs the index from what it is then, until that works (a minute at
    /// most: the sweeper's reconciliation is not needed for correctness of reads, which skip
    /// rooms that are gone, but lists would show stale positions until the room changes again).
    fn repair_index_later(self: &Arc<Self>, id: LiveId) {
        let store = self.clone();
        tokio::spawn(async move {
            let mut delay = std::time::Duration::from_millis(200);
            for _ in 0..12 {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(10));
                let done = match store.read_room(&id).await {
                    Ok(room) => store.try_sync_index(&room).await.is_ok(),
                    Err(StoreError::NotFound) => store.try_unindex(&id).await.is_ok(),
                    Err(_) => false,
                };
                if done {
                    tracing::info!(live_id = %id, "index repaired");
                    return;
                }
            }
            tracing::error!(live_id = %id, "index repair gave up");
        });
    }
}
