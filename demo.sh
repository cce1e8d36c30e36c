#!/usr/bin/env bash
# Set everything up, then break down, plan and previs the bundled example screenplay
# (examples/nevada), bring down a tower of the bundled 1080p skyline (examples/skyline) and de-age the
# bundled portrait (examples/hopper), as a still and as a moving 1080p plate made from it;
# then a streaming service (demo-service/) from MovieLens 100K and this production; every picture
# and movie carries Content Credentials, and the demo ends by verifying one file of each kind.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
M=.venv/bin/moviola
PROJECT=${1:-demo-project}
[ -f "$PROJECT/moviola.toml" ] || "$M" init "$PROJECT" --name nevada
"$M" import-script "$PROJECT" examples/nevada/nevada.fountain
"$M" breakdown "$PROJECT"
"$M" plan "$PROJECT"
"$M" previs "$PROJECT" --look charcoal   # also the boards in charcoal, drawn by a small neural style network
"$M" vfx collapse --recipe examples/skyline/recipe.json --project "$PROJECT" --shot 11A  # the script's collapse shot
# De-aging needs consent on record: this one is a demonstration record for a public-domain
# photograph (see examples/hopper/README.md); a real one is signed by the performer.
# (signed with this account's key, made on first use; a record from before signing is refused,
# so the file name carries the record's version and an older demo's record is left as it was)
CONSENT="$PROJECT/consent/grace-hopper-demo-$(date +%Y).v3.json"
[ -f "$CONSENT" ] || "$M" consent new --performer "Grace Hopper" --scope project \
  --use "de-age by 25 years, for the demonstration of the de-aging tools" \
  --expires "$(date -d '+1 year' +%F)" --signed-by "Moviola demo (public-domain photograph)" \
  --notes "demonstration record for a public-domain U.S. Navy photograph, not a real consent" \
  --project "$PROJECT" --out "$CONSENT"
"$M" vfx deage --plate examples/hopper/grace_hopper.jpg --years 25 --consent "$CONSENT" --performer "Grace Hopper" \
  --project "$PROJECT" --name hopper
MOVING="$PROJECT/vfx/hopper_moving/plate/hopper_1080p.mp4"
[ -f "$MOVING" ] || "$M" vfx moving-plate examples/hopper/grace_hopper.jpg "$MOVING" --head 0.5,0.43
"$M" vfx deage --plate "$MOVING" --years 25 --consent "$CONSENT" --performer "Grace Hopper" \
  --project "$PROJECT" --name hopper_moving
# The audience side: a streaming service with MovieLens 100K and this production.
SERVICE=${2:-demo-service}
[ -f "$SERVICE/service.toml" ] || "$M" stream init "$SERVICE"
"$M" stream load-movielens "$SERVICE"
"$M" stream publish "$PROJECT" --service "$SERVICE" --genres "Drama|Disaster"
"$M" stream train "$SERVICE"
# Its ads: the launch campaign with the 15 s spot cut from this production's collapse shot.
"$M" ads campaign add "$SERVICE" examples/ads/nevada-campaign.toml
"$M" stream recommend "$SERVICE" --member u1 --k 5
"$M" stream recommend "$SERVICE" --member newcomer --picks ml50,ml181,ml172 --k 5
# This production's own spot, cut from the collapse shot (the campaign above ships a bundled one).
"$M" ads creative "$PROJECT" --from marina_collapse --size 960x540 --out "$PROJECT/ads/launch-spot"
# Content Credentials: every picture and movie above is signed (C2PA). Check one of each kind,
# then list what was made under the de-aging consent.
"$M" provenance verify "$(ls "$PROJECT"/previs/looks/charcoal/scene-11/*.png | head -1)" "$PROJECT/previs/contact_sheet.pdf" \
  "$PROJECT/previs/animatic.mp4" "$PROJECT/vfx/marina_collapse/render/layers/comp/marina_collapse_comp.1060.exr" \
  "$PROJECT/vfx/hopper_moving/deage/hopper_moving_deaged.mp4" "$SERVICE/posters/mv-nevada.jpg" \
  "$PROJECT/ads/launch-spot/spot.mp4"
"$M" consent audit "$PROJECT"
echo
echo "The service's page: .venv/bin/moviola stream serve $SERVICE   then open http://127.0.0.1:8700/?member=u1"
echo "(open NEVADA: the launch spot plays as its pre-roll, with its 'Add NEVADA to my list' overlay)"
echo "(events from the page need a key: .venv/bin/moviola stream key new $SERVICE)"
