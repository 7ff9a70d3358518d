// A small client written against the types openapi-typescript generates from the spec
// (scripts/spec-lint.sh generates gen/openapi.ts, then tsc checks this file): it fails to compile
// when the spec stops describing what a TypeScript client of the room API relies on.
import type { components, operations } from "./gen/openapi";

type Schemas = components["schemas"];
type Json = "application/json; charset=utf-8";

type CreateRoom = operations["createRoom"]["requestBody"]["content"][Json];
type Created = operations["createRoom"]["responses"][200]["content"][Json];
type Refused = operations["createRoom"]["responses"][400]["content"][Json];
type Members = operations["listMembers"]["responses"][200]["content"][Json];
type Message = operations["roomEvents"]["responses"][200]["content"]["text/event-stream"];
type Kick = operations["kickUser"]["requestBody"]["content"][Json];
type Kicked = operations["kickUser"]["responses"][200]["content"][Json];
type Stats = operations["serverRoomStats"]["responses"][200]["content"][Json];
type Like = NonNullable<operations["likeRoom"]["requestBody"]>["content"][Json];
type Liked = operations["likeRoom"]["responses"][200]["content"][Json];
type Invite = operations["invitePk"]["requestBody"]["content"][Json];
type Pk = operations["invitePk"]["responses"][200]["content"][Json];
type PkRefused = operations["invitePk"]["responses"][409]["content"][Json];
type SeatAsk = operations["takeSeat"]["requestBody"]["content"][Json];
type SeatTaken = operations["takeSeat"]["responses"][200]["content"][Json];
type SeatRefused = operations["takeSeat"]["responses"][409]["content"][Json];
type Seats = operations["listSeats"]["responses"][200]["content"][Json];
type PkRtc = operations["pkRtcToken"]["responses"][200]["content"][Json];

export async function createRoom(base: string, token: string, room: CreateRoom): Promise<string> {
  const response = await fetch(`${base}/client/live/room/instance`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(room),
  });
  if (!response.ok) {
    const refused = (await response.json()) as Refused;
    throw new Error(`${refused.code}: ${refused.message} (${refused.request_id})`);
  }
  const created = (await response.json()) as Created;
  const liveId: string = created.data.live_id;
  return liveId;
}

export function memberIds(page: Members): string[] {
  return page.data.list.map((member) => member.user_id);
}

/** One Server-Sent Event's `data`, the JSON of a RoomEvent. */
export function roomEvent(message: Message): Schemas["RoomEvent"] {
  const event = JSON.parse(message.data) as Schemas["RoomEvent"];
  const type: Schemas["RoomEventType"] = event.type;
  if (type === "member_left" && event.user_id === undefined) {
    throw new Error(`member_left without user_id at ${event.at}`);
  }
  return event;
}

/** Kicks a user out of a room and bans them for `banSecs`; answers the end of the ban (unix s). */
export async function kick(base: string, token: string, body: Kick): Promise<number> {
  const response = await fetch(`${base}/client/live/room/kick`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const kicked = (await response.json()) as Kicked;
  return kicked.data.ban_end_time;
}

export function peakOnline(stats: Stats): number {
  return stats.data.peak_online;
}

/** Likes a live room; answers (the room's total, the caller's own total). */
export async function like(base: string, token: string, liveId: string, body?: Like): Promise<[number, number]> {
  const response = await fetch(`${base}/client/live/room/${liveId}/like`, {
    method: "PUT",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const liked = (await response.json()) as Liked;
  return [liked.data.total, liked.data.count];
}

/** Invites another live room to a PK; answers its id, or throws with 40903 when either is in one. */
export async function invitePk(base: string, token: string, body: Invite): Promise<string> {
  const response = await fetch(`${base}/client/live/room/pk`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (response.status === 409) {
    const refused = (await response.json()) as PkRefused;
    throw new Error(`${refused.code}: ${refused.message}`);
  }
  const pk = (await response.json()) as Pk;
  const status: string = pk.data.status;
  return `${pk.data.pk_id} (${status})`;
}

/** Takes (free room) or asks for (apply room) a co-host seat: the seat number, 0 while pending;
 * throws with 40902 when none is free or the caller is seated already. */
export async function takeSeat(base: string, token: string, liveId: string, ask: SeatAsk): Promise<number> {
  const response = await fetch(`${base}/client/live/room/seat/${liveId}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(ask),
  });
  if (response.status === 409) {
    const refused = (await response.json()) as SeatRefused;
    throw new Error(`${refused.code}: ${refused.message}`);
  }
  const taken = (await response.json()) as SeatTaken;
  const status: string = taken.data.status;
  return status === "pending" ? 0 : taken.data.seat;
}

/** Who sits where, and whose mic is on. */
export function seated(seats: Seats): Array<[number, string, boolean]> {
  return seats.data.list.map((s) => [s.seat, s.user.user_id, s.mic]);
}

/** A PK anchor's RTC room and token for the other room. */
export function otherRoom(rtc: PkRtc): [string, string] {
  return [rtc.data.live_id, rtc.data.rtc_token];
}

export const example: CreateRoom = { title: "XXX直播", extends: { age: "18" } };
