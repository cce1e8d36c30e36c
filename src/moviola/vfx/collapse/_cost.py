"""What a render cost: wall time per stage, CPU-hours, a cloud price, and the old way.

The figures we compare with are published ones, named with their sources, so a
producer can check them and put in their own (``--cpu-price``). They are
estimates of a different kind of work (artist hours, not machine hours), and
the report says so.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from typing import Any

# AWS EC2 On-Demand, Linux, us-east-1: c7i.large (2 vCPU, Intel Sapphire Rapids) at
# $0.08925 an hour, i.e. $0.0446 per vCPU-hour, as listed on the pricing page.
CPU_PRICE_PER_VCPU_HOUR = 0.08925 / 2
CPU_PRICE_SOURCE = ("AWS EC2 On-Demand pricing, Linux, us-east-1, c7i.large (2 vCPU) $0.08925/h: "
                    "https://aws.amazon.com/ec2/pricing/on-demand/")  # fmt: skip

TRADITIONAL_HOURS = (8.0, 40.0)
TRADITIONAL = {
    "artist_hours": list(TRADITIONAL_HOURS),
    "cost_usd": [300.0, 1500.0],
    "basis": (
        "A 'complex' VFX shot (CG integration, particle effects) in a published per-shot rate "
        "card: 8-40+ artist hours and $300-1,500+ a shot at Southeast Asian rates, which the same "
        "page puts 40-60% below US and Western European ones. A building collapse (model, "
        "fracture, rigid-body and dust simulation, lighting, render, comp) sits at its top."
    ),
    "sources": [
        "BLKRIP Studio, 'VFX Shot Pricing: Per-Shot Breakdown': https://blkrip.vip/pricing/vfx-shot-pricing/",
        "Eran Dinur, 'The Filmmaker's Guide to Visual Effects' (Routledge), ch. 'Workflow case studies': "
        "a shot's cost is predominantly man-hours",
        "Netflix co-CEO Ted Sarandos on the building collapse in 'El Eternauta' (Q2 2025 earnings, "
        "17 July 2025): made with generative AI '10 times faster than it could have been completed "
        "with traditional VFX tools and workflows'",
    ],
}


def cpu_seconds() -> float:
    """CPU time this process (and its finished children) has used, user plus system."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass
class CostReport:
    wall_s: float
    cpu_s: float
    frames: int
    resolution: tuple[int, int]
    price_per_vcpu_hour: float = CPU_PRICE_PER_VCPU_HOUR

    @property
    def cpu_hours(self) -> float:
        return self.cpu_s / 3600.0

    @property
    def cost_usd(self) -> float:
        return self.cpu_hours * self.price_per_vcpu_hour

    def as_dict(self) -> dict[str, Any]:
        lo, hi = TRADITIONAL_HOURS
        wall_h = max(self.wall_s / 3600.0, 1e-9)
        return {
            "cores": os.cpu_count() or 1,
            "cpu_s": round(self.cpu_s, 2),
            "cpu_hours": round(self.cpu_hours, 5),
            "price_per_vcpu_hour_usd": round(self.price_per_vcpu_hour, 5),
            "price_source": CPU_PRICE_SOURCE
            if self.price_per_vcpu_hour == CPU_PRICE_PER_VCPU_HOUR
            else "given by the user (--cpu-price)",
            "cost_usd": round(self.cost_usd, 5),
            "seconds_per_frame": round(self.wall_s / max(self.frames, 1), 3),
            "traditional": {
                **TRADITIONAL,
                "times_faster_than_low": round(lo / wall_h, 1),
                "times_faster_than_high": round(hi / wall_h, 1),
                "note": "artist hours of a traditional pipeline against this render's machine time; "
                "an artist still spends minutes choosing the box, mode and look",
            },
        }
