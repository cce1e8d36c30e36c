"""Ads on the streaming service: campaigns and creatives, VAST 4.2 / VMAP 1.0 documents,
SIMID interactive overlays, a contextual bandit (Vowpal Wabbit) that chooses the ad under
hard caps and pacing, rewards from what members do, and off-policy evaluation.

The store is the streaming service's (the ``ad_*`` tables); the endpoints are served by
``moviola stream serve``; ``moviola ads ...`` adds campaigns, cuts spots, evaluates.
"""

from ._bandit import Context, Policy, action_line, floored
from ._campaign import Campaign, Cap, CreativeSpec, Targeting, parse_campaign
from ._config import CONFIG_FILE, AdsConfig, Reward, parse_config, read_config
from ._decide import AdServer, Decision, Pod, load_inventory
from ._inventory import (
    AddedCampaign,
    MediaInfo,
    add_campaign,
    list_campaigns,
    probe_creative,
    set_paused,
)
from ._learning import Learner, close_decision, sweep
from ._rules import Creative, LiveCampaign, Viewer, pace_limit, targeted
from ._tracking import EVENTS, Beacon, Forged, Signer, event_kind, record_beacon
from ._vast import VAST_NS, timecode, vast_document
from ._vast_rules import vast_problems
from ._vmap import VMAP_NS, Break, plan_breaks, vmap_document, vmap_problems

__all__ = [
    "CONFIG_FILE",
    "EVENTS",
    "VAST_NS",
    "VMAP_NS",
    "AdServer",
    "AddedCampaign",
    "AdsConfig",
    "Beacon",
    "Break",
    "Campaign",
    "Cap",
    "Context",
    "Creative",
    "CreativeSpec",
    "Decision",
    "Forged",
    "Learner",
    "LiveCampaign",
    "MediaInfo",
    "Pod",
    "Policy",
    "Reward",
    "Signer",
    "Targeting",
    "Viewer",
    "action_line",
    "add_campaign",
    "close_decision",
    "event_kind",
    "floored",
    "list_campaigns",
    "load_inventory",
    "pace_limit",
    "parse_campaign",
    "parse_config",
    "plan_breaks",
    "probe_creative",
    "read_config",
    "record_beacon",
    "set_paused",
    "sweep",
    "targeted",
    "timecode",
    "vast_document",
    "vast_problems",
    "vmap_document",
    "vmap_problems",
]
