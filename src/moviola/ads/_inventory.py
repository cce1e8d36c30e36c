"""Campaigns into a service's store, with their creatives' files (I/O).

``add_campaign`` reads the campaign file, checks every creative (an MP4 holding H.264 a
browser plays; its SIMID HTML present), copies the files into the service folder under
``ads/<creative>-<sha8>/`` (a new version never overwrites an old one that a player may be
streaming), then writes the campaign and its creatives in one transaction. The same file
again is a no-op; a changed file updates the campaign in place and keeps its counters, so
caps and budgets carry over.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shutil
import time
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from ..core import InputError, sha256_file, storage_error
from ..stream import _schema as t
from ..stream._service import Service
from ._campaign import Campaign, CreativeSpec, parse_campaign

MAX_CAMPAIGN_BYTES = 1024 * 1024
MAX_CREATIVE_BYTES = 200 * 1024 * 1024
MAX_SIMID_BYTES = 20 * 1024 * 1024
ADS_DIR = "ads"
PLAYABLE_PROFILES = {66: "Baseline", 77: "Main", 100: "High"}  # what every browser decodes


@dataclass(frozen=True)
class MediaInfo:
    duration_ms: int
    width: int
    height: int
    codec: str  # RFC 6381, e.g. avc1.64001f
    bitrate_kbps: int
    sha256: str


@dataclass(frozen=True)
class AddedCampaign:
    campaign_id: str
    file: str
    creatives: tuple[str, ...]
    new: bool  # False: this very file was added before; nothing changed


def probe_creative(path: Path) -> MediaInfo:
    """What a creative's video is, refusing one a browser may not play: not MP4, not
    H.264 (4:2:0, 8-bit, Baseline/Main/High), no video, too short or too long."""
    import av

    if not path.is_file():
        raise InputError("no such file (the creative's video)", path)
    size = path.stat().st_size
    if size > MAX_CREATIVE_BYTES:
        raise InputError(f"{size / 1e6:.0f} MB is more than the {MAX_CREATIVE_BYTES // 10**6} MB a spot may be", path)
    try:
        container = av.open(str(path))
    except Exception as exc:
        raise InputError(f"not a readable movie ({' '.join(str(exc).split())[:120]})", path) from exc
    try:
        if "mp4" not in container.format.name.split(","):
            raise InputError(f"is {container.format.long_name}, not MP4 (VAST players want video/mp4)", path)
        if not container.streams.video:
            raise InputError("holds no video stream", path)
        video = container.streams.video[0]
        cc = video.codec_context
        if cc.name != "h264":
            raise InputError(f"its video is {cc.name}, not H.264 (re-encode it: ffmpeg -c:v libx264)", path)
        extradata = bytes(cc.extradata or b"")
        if len(extradata) < 4 or extradata[0] != 1:
            raise InputError("its H.264 stream has no avcC configuration (not a standard MP4)", path)
        profile, compat, level = extradata[1], extradata[2], extradata[3]
        if profile not in PLAYABLE_PROFILES or (cc.format and cc.format.name not in ("yuv420p", "yuvj420p")):
            raise InputError(f"its H.264 is profile {profile} / {cc.format.name if cc.format else '?'}; browsers "
                             "play 8-bit 4:2:0 Baseline, Main or High (re-encode with -pix_fmt yuv420p)", path)  # fmt: skip
        if video.duration is not None and video.time_base is not None:
            seconds = float(video.duration * video.time_base)
        else:
            seconds = (container.duration or 0) / 1_000_000
        width, height = int(cc.width), int(cc.height)
    finally:
        container.close()
    if not 1.0 <= seconds <= 180.0:
        raise InputError(f"lasts {seconds:.2f} s; a linear spot lasts 1 to 180 s", path)
    return MediaInfo(
        duration_ms=round(seconds * 1000), width=width, height=height,
        codec=f"avc1.{profile:02x}{compat:02x}{level:02x}",
        bitrate_kbps=max(1, round(size * 8 / seconds / 1000)), sha256=sha256_file(path),
    )  # fmt: skip


_REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"'#?]+)""", re.I)


def simid_neighbours(html: Path) -> list[Path]:
    """Files the SIMID HTML loads from the folder above its own (``../protocol.js``, as the
    IAB's sample creatives do): copied beside the creative's folder, so that they resolve
    where the service serves it. A file further out, or missing, is refused."""
    try:
        text = html.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror or exc}", html) from exc
    found: list[Path] = []
    for ref in _REFERENCE.findall(text):
        if "://" in ref or ref.startswith(("/", "data:", "mailto:")) or not ref.startswith(".."):
            continue
        target = (html.parent / ref).resolve()
        if target.parent != html.parent.parent.resolve() or not target.is_file():
            raise InputError(f"it loads {ref!r}, which is {'missing' if not target.exists() else 'outside the folder above it'}; "
                             "put the files a creative needs in its folder (or the one just above)", html)  # fmt: skip
        found.append(target)
    return list(dict.fromkeys(found))


def _check_simid(spec: CreativeSpec) -> None:
    if spec.simid is None:
        return
    if not spec.simid.is_file():
        raise InputError(f"creative {spec.id}: its SIMID HTML is missing", spec.simid)
    if spec.simid.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"creative {spec.id}: SIMID interactive files are HTML (text/html)", spec.simid)
    folder = spec.simid.parent
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    if total > MAX_SIMID_BYTES:
        raise InputError(f"creative {spec.id}: the SIMID folder holds {total / 1e6:.0f} MB "
                         f"(at most {MAX_SIMID_BYTES // 10**6} MB is copied)", folder)  # fmt: skip
    simid_neighbours(spec.simid)


def read_campaign_file(path: Path) -> tuple[Campaign, str]:
    """The campaign in ``path`` and the file's sha256."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror or exc}", path) from exc
    if len(data) > MAX_CAMPAIGN_BYTES:
        raise InputError("larger than 1 MB: not a campaign file", path)
    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", path) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not TOML: {exc}", path) from None
    return parse_campaign(parsed, path), hashlib.sha256(data).hexdigest()


def _stage(service: Service, spec: CreativeSpec, media: MediaInfo) -> tuple[str, str | None]:
    """Copy a creative's files to ``ads/<id>-<sha8>/`` (skipped when that version is there):
    returns the MP4's and the SIMID HTML's paths in the service folder."""
    name = f"{spec.id}-{media.sha256[:8]}"
    if spec.simid is not None:  # a changed overlay makes a new version too
        name += "-" + hashlib.sha256(spec.simid.read_bytes()).hexdigest()[:6]
    final = service.path(ADS_DIR, name)
    media_rel = f"{ADS_DIR}/{name}/spot.mp4"
    simid_rel = f"{ADS_DIR}/{name}/simid/{spec.simid.name}" if spec.simid is not None else None
    if final.is_dir():
        return media_rel, simid_rel
    staging = service.path(ADS_DIR, f".incoming-{uuid.uuid4().hex[:12]}")
    try:
        staging.mkdir(parents=True)
        shutil.copyfile(spec.video, staging / "spot.mp4")
        if spec.simid is not None:
            shutil.copytree(spec.simid.parent, staging / "simid",
                            ignore=shutil.ignore_patterns(".*", "*.mp4", "*.mov"))  # fmt: skip
            for neighbour in simid_neighbours(spec.simid):  # "../x.js" lands beside simid/
                shutil.copyfile(neighbour, staging / neighbour.name)
        staging.rename(final)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if final.is_dir():  # another process placed the same version meanwhile
            return media_rel, simid_rel
        raise storage_error(exc, final, "cannot copy the creative into the service") from exc
    return media_rel, simid_rel


def add_campaign(service: Service, path: str | Path) -> AddedCampaign:
    """Add (or update) the campaign in the file ``path``: all of it or nothing."""
    file = Path(path)
    campaign, digest = read_campaign_file(file)
    with service.engine.connect() as conn:
        row = conn.execute(select(t.ad_campaigns.c.sha256).where(t.ad_campaigns.c.campaign_id == campaign.id)).first()
        if row is not None and row[0] == digest:
            return AddedCampaign(campaign.id, str(file), tuple(c.id for c in campaign.creatives), False)
        taken = conn.execute(select(t.ad_creatives.c.creative_id, t.ad_creatives.c.campaign_id).where(
            t.ad_creatives.c.creative_id.in_([c.id for c in campaign.creatives]),
            t.ad_creatives.c.campaign_id != campaign.id)).first()  # fmt: skip
    if taken is not None:
        raise InputError(f"creative {taken[0]!r} belongs to campaign {taken[1]!r} already; creative ids are "
                         "unique across the service", file)  # fmt: skip
    probed = [(spec, probe_creative(spec.video)) for spec in campaign.creatives]
    for spec, _ in probed:
        _check_simid(spec)
    placed = [(spec, media, *_stage(service, spec, media)) for spec, media in probed]
    now = int(time.time())
    with service.engine.begin() as conn:
        _write(conn, campaign, digest, now, placed)
    return AddedCampaign(campaign.id, str(file), tuple(c.id for c in campaign.creatives), True)


def _write(conn: Connection, campaign: Campaign, digest: str, now: int,
           placed: list[tuple[CreativeSpec, MediaInfo, str, str | None]]) -> None:  # fmt: skip
    values: dict[str, Any] = {
        "advertiser": campaign.advertiser, "name": campaign.name, "starts_at": campaign.starts_at,
        "ends_at": campaign.ends_at, "budget": campaign.budget, "daily_goal": campaign.daily_goal,
        "spec": campaign.spec_json(), "sha256": digest,
    }  # fmt: skip
    c = t.ad_campaigns.c
    if conn.execute(select(c.campaign_id).where(c.campaign_id == campaign.id)).first() is None:
        conn.execute(insert(t.ad_campaigns).values(campaign_id=campaign.id, added_at=now, **values))
    else:
        conn.execute(update(t.ad_campaigns).where(c.campaign_id == campaign.id).values(**values))
    conn.execute(delete(t.ad_creatives).where(t.ad_creatives.c.campaign_id == campaign.id))
    for spec, media, media_rel, simid_rel in placed:
        conn.execute(insert(t.ad_creatives).values(
            creative_id=spec.id, campaign_id=campaign.id, name=spec.name, duration_ms=media.duration_ms,
            media=media_rel, width=media.width, height=media.height, codec=media.codec,
            bitrate_kbps=media.bitrate_kbps, simid=simid_rel, ad_parameters=spec.ad_parameters,
            click_through=spec.click_through, skip_offset=spec.skip_offset, sha256=media.sha256,
        ))  # fmt: skip


def set_paused(service: Service, campaign_id: str, paused: bool) -> None:
    with service.engine.begin() as conn:
        done = conn.execute(update(t.ad_campaigns).where(t.ad_campaigns.c.campaign_id == campaign_id)
                            .values(paused=int(paused)).returning(t.ad_campaigns.c.campaign_id)).first()  # fmt: skip
    if done is None:
        raise InputError(f"no campaign {campaign_id[:64]!r} in the service")


def list_campaigns(service: Service) -> list[dict[str, Any]]:
    """Every campaign with its creatives, budget and what was delivered (decisions served)."""
    c, cr, d = t.ad_campaigns.c, t.ad_creatives.c, t.ad_decisions.c
    with service.engine.connect() as conn:
        campaigns = [dict(r._mapping) for r in conn.execute(select(t.ad_campaigns).order_by(c.campaign_id))]
        creatives = [dict(r._mapping) for r in conn.execute(select(t.ad_creatives).order_by(cr.creative_id))]
        served: dict[str, int] = {str(k): int(n) for k, n in conn.execute(
            select(d.campaign_id, func.count()).group_by(d.campaign_id))}  # fmt: skip
    out = []
    for row in campaigns:
        spec = json.loads(row.pop("spec"))
        row["creatives"] = [x for x in creatives if x["campaign_id"] == row["campaign_id"]]
        row["served"] = int(served.get(row["campaign_id"], 0))
        row["paused"] = bool(row["paused"])
        out.append({**row, **spec})
    return out


def remove_unused_media(service: Service) -> int:
    """Delete creative folders no creative points at any more (older versions); returns how many."""
    with service.engine.connect() as conn:
        used = {str(r[0]).split("/")[1] for r in conn.execute(select(t.ad_creatives.c.media))}
    removed = 0
    base = service.path(ADS_DIR)
    for folder in base.iterdir() if base.is_dir() else []:
        if folder.is_dir() and folder.name not in used and not folder.name.startswith(".incoming-"):
            with contextlib.suppress(OSError):
                shutil.rmtree(folder)
                removed += 1
    return removed

