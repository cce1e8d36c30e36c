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
from ._obd import (
    PUBLISHED,
    EstimatorCheck,
    ObdLog,
    ObdValidation,
    load_obd,
    obd_root,
    validate_on_obd,
)
from ._ope import (
    Estimate,
    better,
    direct_method,
    doubly_robust,
    fit_reward_model,
    ipw,
    on_policy,
    snipw,
)
from ._overlay import (
    OverlaySpec,
    ad_parameters_text,
    overlay_parameters,
    parse_answers,
    write_overlay,
)
from ._rules import Creative, LiveCampaign, Viewer, pace_limit, targeted
from ._spot import SPOT_LENGTHS, SpotResult, SpotSource, cut_spot, loudness_lufs, resolve_source
from ._tracking import EVENTS, Beacon, Forged, Signer, event_kind, record_beacon
from ._vast import VAST_NS, timecode, vast_document
from ._vast_rules import vast_problems
from ._vmap import VMAP_NS, Break, plan_breaks, vmap_document, vmap_problems

__all__ = [
    "CONFIG_FILE",
    "EVENTS",
    "PUBLISHED",
    "SPOT_LENGTHS",
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
    "Estimate",
    "EstimatorCheck",
    "Forged",
    "Learner",
    "LiveCampaign",
    "MediaInfo",
    "ObdLog",
    "ObdValidation",
    "OverlaySpec",
    "Pod",
    "Policy",
    "Reward",
    "Signer",
    "SpotResult",
    "SpotSource",
    "Targeting",
    "Viewer",
    "action_line",
    "ad_parameters_text",
    "add_campaign",
    "better",
    "close_decision",
    "cut_spot",
    "direct_method",
    "doubly_robust",
    "event_kind",
    "fit_reward_model",
    "floored",
    "ipw",
    "list_campaigns",
    "load_inventory",
    "load_obd",
    "loudness_lufs",
    "obd_root",
    "on_policy",
    "overlay_parameters",
    "pace_limit",
    "parse_answers",
    "parse_campaign",
    "parse_config",
    "plan_breaks",
    "probe_creative",
    "read_config",
    "record_beacon",
    "resolve_source",
    "set_paused",
    "snipw",
    "sweep",
    "targeted",
    "timecode",
    "validate_on_obd",
    "vast_document",
    "vast_problems",
    "vmap_document",
    "vmap_problems",
    "write_overlay",
]
