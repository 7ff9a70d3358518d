#!/usr/bin/env python3
"""The Python side of the SDK test (tests/e2e/sdk.rs): generates a client from the spec that
liveroom serves, with openapi-python-client, and drives create, join, heartbeat and user_list
through it.

The Rust test spawns the app and passes, in the environment:
  LIVEROOM_BASE_URL          the app, e.g. http://127.0.0.1:41234
  ANCHOR_ID, ANCHOR_TOKEN    a user who creates the room, and a bearer token for it
  VIEWER_ID, VIEWER_TOKEN    a user who joins it

Run with any python3: the first run makes the virtualenv target/pyenv (the one scripts/fuzz.sh
uses too) and installs tests/e2e/sdk/requirements.txt into it; then the script runs itself again
inside it. The client is generated into target/sdk-client/liveroom_client; a warning of the
generator fails the test, as does any answer the generated client does not expect.
Prints one JSON line of what it saw, which the Rust side checks against the server.
"""

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
VENV = ROOT / "target" / "pyenv"
REQUIREMENTS = Path(__file__).with_name("requirements.txt")
OUT = ROOT / "target" / "sdk-client"
PACKAGE = "liveroom_client"


def fail(message: str) -> None:
    print(f"sdk test: {message}", file=sys.stderr)
    sys.exit(1)


def pinned_version() -> str:
    for line in REQUIREMENTS.read_text().splitlines():
        if line.startswith("openapi-python-client=="):
            return line.split("==", 1)[1].strip()
    fail(f"{REQUIREMENTS} pins no openapi-python-client")
    return ""


def ensure_virtualenv() -> Path:
    """The virtualenv with the pinned generator, made or completed under a lock."""
    python = VENV / "bin" / "python"
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / "pyenv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not python.exists():
            print(f"sdk test: making the virtualenv {VENV}", file=sys.stderr)
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        wanted = pinned_version()
        have = subprocess.run(
            [str(python), "-c", "import importlib.metadata as m; print(m.version('openapi-python-client'))"],
            capture_output=True,
            text=True,
        )
        if have.returncode != 0 or have.stdout.strip() != wanted:
            print(f"sdk test: installing {REQUIREMENTS} into {VENV}", file=sys.stderr)
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
                check=True,
            )
    return python


def generate(base: str) -> None:
    """The client of the served spec; the generator's warnings are failures."""
    OUT.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PATH=f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    command = [
        str(VENV / "bin" / "openapi-python-client"),
        "generate",
        "--url",
        f"{base}/openapi.json",
        "--meta",
        "none",
        "--output-path",
        str(OUT / PACKAGE),
        "--overwrite",
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=OUT)
    said = (done.stdout + done.stderr).strip()
    lines = [line for line in said.splitlines() if line.strip() and not line.startswith("Generating ")]
    if done.returncode != 0 or lines:
        fail(f"openapi-python-client did not generate the client cleanly:\n{said}")


def expect(condition: bool, what: str, got: object) -> None:
    if not condition:
        fail(f"{what}; got {got!r}")


def drive(base: str) -> dict:
    sys.path.insert(0, str(OUT))
    from liveroom_client import AuthenticatedClient
    from liveroom_client.api.moderation import kick_user, my_rooms
    from liveroom_client.api.presence import heartbeat, join_room, list_members
    from liveroom_client.api.interaction import accept_pk, get_pk, invite_pk, like_room, stop_pk
    from liveroom_client.api.rooms import create_room, start_live
    from liveroom_client.api.seats import leave_seat, list_seats, take_seat
    from liveroom_client.models import (
        CreateRoomRequest,
        Envelope,
        HeartbeatEnvelope,
        KickEnvelope,
        KickRequest,
        LikeEnvelope,
        LikeRequest,
        PkEnvelope,
        PkInviteRequest,
        RoomPageEnvelope,
        MemberPageEnvelope,
        RoomEnvelope,
        SeatListEnvelope,
        SeatRequestBody,
        SeatTakenEnvelope,
    )

    anchor_id, viewer_id = os.environ["ANCHOR_ID"], os.environ["VIEWER_ID"]
    anchor = AuthenticatedClient(base_url=base, token=os.environ["ANCHOR_TOKEN"], raise_on_unexpected_status=True)
    viewer = AuthenticatedClient(base_url=base, token=os.environ["VIEWER_TOKEN"], raise_on_unexpected_status=True)

    # 创建直播间: the generated request model, with its (inline, nullable) extends
    request = CreateRoomRequest.from_dict({"title": "SDK直播", "notice": "直播公告", "extends": {"age": "18"}})
    created = create_room.sync_detailed(client=anchor, body=request)
    expect(created.status_code == 200, "create answers 200", (created.status_code, created.content))
    expect(isinstance(created.parsed, RoomEnvelope), "create answers a RoomEnvelope", created.parsed)
    expect(created.parsed.code == 0 and created.parsed.message == "success", "create succeeds", created.parsed)
    expect("x-request-id" in created.headers, "answers carry X-Request-Id", dict(created.headers))
    room = created.parsed.data
    live_id = room.live_id
    expect(live_id.startswith("live_"), "a live_id of the server's form", live_id)
    expect(room.title == "SDK直播" and room.live_status == 0, "the room as created", room.to_dict())
    expect(room.anchor_info.user_id == anchor_id, "the caller is the anchor", room.anchor_info.to_dict())
    expect(room.extends.additional_properties == {"age": "18"}, "extends as sent", room.extends.to_dict())
    expect(room.push_url != "", "the anchor sees its push URL", room.push_url)

    # 加入直播
    joined = join_room.sync_detailed(live_id=live_id, client=viewer)
    expect(isinstance(joined.parsed, RoomEnvelope) and joined.parsed.code == 0, "join succeeds", joined.parsed)
    expect(joined.parsed.data.pv == 1 and joined.parsed.data.online_count == 1, "one join, one online", joined.parsed.data.to_dict())
    expect(joined.parsed.data.push_url == "", "a viewer does not see the push URL", joined.parsed.data.push_url)

    # 心跳
    beat = heartbeat.sync_detailed(live_id=live_id, client=viewer)
    expect(isinstance(beat.parsed, HeartbeatEnvelope) and beat.parsed.code == 0, "heartbeat succeeds", beat.parsed)
    expect(beat.parsed.data.live_id == live_id and beat.parsed.data.live_status == 0, "heartbeat of the created room", beat.parsed.data.to_dict())

    # 房间用户列表
    members = list_members.sync_detailed(client=anchor, live_id=live_id, page_num=1, page_size=20)
    expect(isinstance(members.parsed, MemberPageEnvelope) and members.parsed.code == 0, "user_list succeeds", members.parsed)
    page = members.parsed.data
    expect(page.total_count == 1 and page.page_total == 1 and page.end_page, "one member on one page", page.to_dict())
    expect([m.user_id for m in page.list_] == [viewer_id], "the viewer is the member", page.to_dict())

    # 我的直播间: the anchor's own rooms, with the push URL
    mine = my_rooms.sync_detailed(client=anchor)
    expect(isinstance(mine.parsed, RoomPageEnvelope) and mine.parsed.code == 0, "mine succeeds", mine.parsed)
    expect([r.live_id for r in mine.parsed.data.list_] == [live_id], "mine lists the room", mine.parsed.data.to_dict())
    expect(mine.parsed.data.list_[0].push_url != "", "mine shows the push URL", mine.parsed.data.list_[0].push_url)

    # 踢出用户: removed at once, then banned (403/40301, the envelope the spec declares)
    kick = KickRequest.from_dict({"live_id": live_id, "user_id": viewer_id, "ban_secs": 600})
    kicked = kick_user.sync_detailed(client=anchor, body=kick)
    expect(isinstance(kicked.parsed, KickEnvelope) and kicked.parsed.code == 0, "kick succeeds", kicked.parsed)
    expect(kicked.parsed.data.removed and kicked.parsed.data.ban_end_time > 0, "removed and banned", kicked.parsed.data.to_dict())
    again = join_room.sync_detailed(live_id=live_id, client=viewer)
    expect(again.status_code == 403, "a banned join is 403", again.status_code)
    expect(isinstance(again.parsed, Envelope) and again.parsed.code == 40301, "the 40301 envelope", again.parsed)

    # an error is the envelope too, typed by the status the spec declares for it
    missing = heartbeat.sync_detailed(live_id="live_00000000000000000000000000000000", client=viewer)
    expect(missing.status_code == 404, "a heartbeat to no room is 404", missing.status_code)
    expect(isinstance(missing.parsed, Envelope) and missing.parsed.code == 40400, "the 404 envelope", missing.parsed)

    # 点赞 and 跨房PK (CONTRACT section 14): the anchor likes its live room; the viewer, anchor of
    # a room of its own, is invited to a PK, accepts it, and the anchor stops it
    started = start_live.sync_detailed(live_id=live_id, client=anchor)
    expect(isinstance(started.parsed, RoomEnvelope) and started.parsed.data.live_status == 1, "start succeeds", started.parsed)
    liked = like_room.sync_detailed(live_id=live_id, client=anchor, body=LikeRequest.from_dict({"count": 3}))
    expect(isinstance(liked.parsed, LikeEnvelope) and liked.parsed.code == 0, "like succeeds", liked.parsed)
    expect(liked.parsed.data.total == 3 and liked.parsed.data.count == 3, "the totals", liked.parsed.data.to_dict())
    other = create_room.sync_detailed(client=viewer, body=CreateRoomRequest.from_dict({"title": "对手直播"})).parsed.data.live_id
    start_live.sync_detailed(live_id=other, client=viewer)
    invited = invite_pk.sync_detailed(client=anchor, body=PkInviteRequest.from_dict({"live_id": live_id, "target_live_id": other}))
    expect(isinstance(invited.parsed, PkEnvelope) and invited.parsed.data.status == "inviting", "invite succeeds", invited.parsed)
    pk_id = invited.parsed.data.pk_id
    accepted = accept_pk.sync_detailed(pk_id=pk_id, client=viewer)
    expect(isinstance(accepted.parsed, PkEnvelope) and accepted.parsed.data.status == "active", "accept succeeds", accepted.parsed)
    refused = invite_pk.sync_detailed(client=anchor, body=PkInviteRequest.from_dict({"live_id": live_id, "target_live_id": other}))
    expect(refused.status_code == 409 and isinstance(refused.parsed, Envelope) and refused.parsed.code == 40903, "the 40903 envelope", refused.parsed)
    stopped = stop_pk.sync_detailed(pk_id=pk_id, client=anchor)
    expect(isinstance(stopped.parsed, PkEnvelope) and stopped.parsed.data.ended_reason == "stopped", "stop succeeds", stopped.parsed)
    read = get_pk.sync_detailed(pk_id=pk_id, client=viewer)
    expect(isinstance(read.parsed, PkEnvelope) and read.parsed.data.status == "ended", "the PK reads ended", read.parsed)

    # 连麦 (CONTRACT section 14): the anchor joins the viewer's live room and takes its first seat
    join_room.sync_detailed(live_id=other, client=anchor)
    asked = SeatRequestBody.from_dict({"mic": True, "camera": False})
    took = take_seat.sync_detailed(live_id=other, client=anchor, body=asked)
    expect(isinstance(took.parsed, SeatTakenEnvelope) and took.parsed.code == 0, "take succeeds", took.parsed)
    expect(took.parsed.data.status == "taken" and took.parsed.data.seat == 1 and not took.parsed.data.camera, "seat 1, camera off", took.parsed.data.to_dict())
    seats = list_seats.sync_detailed(live_id=other, client=viewer)
    expect(isinstance(seats.parsed, SeatListEnvelope) and [x.user.user_id for x in seats.parsed.data.list_] == [anchor_id], "the seat list", seats.parsed)
    twice = take_seat.sync_detailed(live_id=other, client=anchor, body=asked)
    expect(twice.status_code == 409 and isinstance(twice.parsed, Envelope) and twice.parsed.code == 40902, "the 40902 envelope", twice.parsed)
    left = leave_seat.sync_detailed(live_id=other, client=anchor)
    expect(isinstance(left.parsed, Envelope) and left.parsed.code == 0, "leave the seat", left.parsed)

    return {
        "pk_id": pk_id,
        "seat": took.parsed.data.seat,
        "seat_room": other,
        "likes": liked.parsed.data.total,
        "live_id": live_id,
        "members": [m.user_id for m in page.list_],
        "heartbeat_live_status": beat.parsed.data.live_status,
        "request_id": created.parsed.request_id,
    }


def main() -> None:
    if Path(sys.prefix).resolve() != VENV.resolve():
        python = ensure_virtualenv()
        os.execv(str(python), [str(python), __file__, *sys.argv[1:]])
    base = os.environ.get("LIVEROOM_BASE_URL") or fail("LIVEROOM_BASE_URL is not set")
    generate(base)
    print(json.dumps(drive(base)))


if __name__ == "__main__":
    main()
