#!/usr/bin/env bash
# Re-fetch the JavaScript that Moviola's streaming page vendors, from the npm registry.
#
#   scripts/vendor_js.sh            # writes src/moviola/stream/web/vendor/
#
# For maintainers only (setup does not run it; the files are committed). It needs npm and
# network access. Each tarball is checked against the sha512 integrity the registry
# publishes (and that vendor/README.md records) before a file is taken from it, and only
# the files the page serves are copied: the packages ship much more (video.js's HLS/DASH
# build, vast-client's node build and stray build folders).
#
# To move to a new version: change the pins below, run this, update vendor/README.md
# (versions, integrity, sizes) and run tests/test_ads_player_browser.py.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$HERE/src/moviola/stream/web/vendor"

VIDEOJS=video.js@8.24.1
VIDEOJS_SHA512="sha512-Qh2WxVyiw6BEvpS95KCoZM8wt10r2iDvembOjHPftVcxY4QR53WVTDQlJEuI1J46Yo9Zw+6rRDIe62C+J+edfQ=="
VASTCLIENT=@dailymotion/vast-client@6.4.5
VASTCLIENT_SHA512="sha512-mqWYNFf8lg7AxEEV8DwQyUbF90SEG2SMycf4c3PC2IZ7G9C8JRSu3e5XUesE72lrWw+mI+KOUd8GtrHBuHR1Zw=="
# Packages whose code video.js's core build (or its CSS) carries inside it: we ship their
# licence texts. Versions: the ones video.js 8.24.1 pins, or the lowest its ranges accept.
BUNDLED=(videojs-vtt.js@0.15.5 @videojs/xhr@2.7.0 parse-headers@2.0.2 global@4.4.0
         is-function@1.0.2 @babel/runtime@7.28.4 videojs-font@4.2.0)

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

# fetch PKG@VERSION EXPECTED_INTEGRITY -> unpacks into ./<name>/package
fetch() {
    local spec="$1" expected="${2:-}" tgz got name
    name="${spec%@*}"; name="${name//\//_}"
    tgz="$(npm pack --silent "$spec")"
    got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
    if [[ -n "$expected" && "$got" != "$expected" ]]; then
        echo "integrity mismatch for $spec: $got" >&2; exit 1
    fi
    published="$(npm view "$spec" dist.integrity)"
    if [[ "$got" != "$published" ]]; then
        echo "$spec does not match the registry's integrity ($published)" >&2; exit 1
    fi
    mkdir -p "$name" && tar xzf "$tgz" -C "$name"
}

fetch "$VIDEOJS" "$VIDEOJS_SHA512"
fetch "$VASTCLIENT" "$VASTCLIENT_SHA512"
for spec in "${BUNDLED[@]}"; do fetch "$spec"; done

mkdir -p "$OUT"
cp video.js/package/dist/alt/video.core.min.js "$OUT/video.core.min.js"
cp video.js/package/dist/video-js.min.css "$OUT/video-js.min.css"
cp video.js/package/LICENSE "$OUT/video.js.LICENSE"
cp @dailymotion_vast-client/package/dist/vast-client.min.js "$OUT/vast-client.min.js"
cp @dailymotion_vast-client/package/LICENSE "$OUT/vast-client.LICENSE"

# One notice file with the licence of every package bundled into video.core.min.js / the CSS.
{
    echo "Third-party code bundled inside video.core.min.js and video-js.min.css (video.js ${VIDEOJS#*@})."
    echo "Each section: the npm package, what of it is bundled, and its licence text as the package ships it."
    for spec in "${BUNDLED[@]}"; do
        name="${spec%@*}"; dir="${name//\//_}/package"
        licence="$(ls "$dir" | grep -iE '^licen[cs]e' | head -n1)"
        echo
        echo "================================================================================"
        echo "$spec ($(node -p "require('./$dir/package.json').license"))"
        case "$name" in
            videojs-font) echo "bundled: the VideoJS icon font, embedded as a data: URL in video-js.min.css" ;;
            parse-headers) echo "bundled: a slightly modified copy inside @videojs/xhr" ;;
            @babel/runtime) echo "bundled: the _extends helper" ;;
            *) echo "bundled: the package's browser code" ;;
        esac
        echo "================================================================================"
        cat "$dir/$licence"
    done
} > "$OUT/video.js-bundled.NOTICE"

ls -l "$OUT"
echo "Now update $OUT/README.md if a version changed."
