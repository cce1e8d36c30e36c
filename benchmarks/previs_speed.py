"""Previs speed: one storyboard frame at 1920x1080, and the whole previs of ~100 shots.

Targets (issues 4 and 14, on 2 CPU cores): a 1920x1080 storyboard frame <= 100 ms,
including the night stadium with its forty thousand (scene 3, shot 3A) and the
snowing street where the tower falls (scene 11, shot 11A), as the script stages
them; the whole previs package for a 100-shot script <= 60 s. Baselines in the
same process: the same frames without what the script stages (no crowd, no
weather, no elements: the set alone), a plain raster of the same triangles (one
colour, no light, shadow, sky or ink: the cost of llvmpipe itself), x264 encoding
the same number of frames of one still picture (the encoder's floor for the
animatic), and a second previs run with nothing changed.

    .venv/bin/python benchmarks/previs_speed.py [--frames-only]
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
NEVADA = ROOT / "examples" / "nevada" / "nevada.fountain"


def _plain_raster_ms(renderer: object, scene: object, camera: object, w: int, h: int) -> float:
    """Same triangles, same camera, the simplest shader: llvmpipe's own cost."""
    ctx = renderer.ctx  # type: ignore[attr-defined]
    prog = ctx.program(
        vertex_shader="""#version 330
        uniform sampler2D u_xf; uniform mat4 u_vp; in vec3 in_pos; in float in_prim;
        void main() { int i = int(in_prim + 0.5);
          mat4 m = mat4(texelFetch(u_xf, ivec2(0, i), 0), texelFetch(u_xf, ivec2(1, i), 0),
                        texelFetch(u_xf, ivec2(2, i), 0), texelFetch(u_xf, ivec2(3, i), 0));
          gl_Position = u_vp * m * vec4(in_pos, 1.0); }""",
        fragment_shader="#version 330\nout vec4 c; void main() { c = vec4(0.6); }",
    )
    from moviola.previs._render import _SHADOW_LAYOUT

    vao = ctx.vertex_array(prog, [(scene._vbo, _SHADOW_LAYOUT, "in_pos", "in_prim")])  # type: ignore[attr-defined]
    fbo = ctx.framebuffer([ctx.renderbuffer((w, h), 4)], ctx.depth_renderbuffer((w, h)))
    gf = camera.GetCamera(1001.0)  # type: ignore[attr-defined]
    view = np.asarray(gf.frustum.ComputeViewMatrix(), np.float32)
    proj = np.asarray(gf.frustum.ComputeProjectionMatrix(), np.float32)
    prog["u_vp"].write((view @ proj).astype(np.float32).tobytes())
    scene._pose(1001.0)  # type: ignore[attr-defined]
    scene._xf.use(0)  # type: ignore[attr-defined]

    def once() -> None:
        fbo.use()
        fbo.clear(0.5, 0.5, 0.5, 1.0, depth=1.0)
        ctx.enable(2)
        vao.render()
        fbo.read(components=3)

    once()
    t = time.perf_counter()
    for _ in range(10):
        once()
    return (time.perf_counter() - t) / 10 * 1000


def frame_figures() -> None:
    from dataclasses import replace

    from pxr import Usd

    from moviola.plan import build_plan, shots_from_plan
    from moviola.previs import Renderer, build_scene_stage, stage_cameras
    from moviola.previs._staging import Staging, build_stagings
    from moviola.script import build_breakdown, read_screenplay

    breakdown = build_breakdown(read_screenplay(NEVADA))
    plan, _ = build_plan(breakdown)
    stagings = build_stagings(breakdown["scenes"])
    renderer = Renderer()
    print(f"renderer: {renderer.info}")
    cases = (("6", None, "interior, night"), ("3", "3A", "stadium, 40,000 crowd, snow"),
             ("11", "11A", "street, snow, the tower"))  # fmt: skip
    for number, shot_id, label in cases:
        scene = next(s for s in plan["scenes"] if s["number"] == number)
        shots = [s for s in shots_from_plan(plan) if s.scene == number]
        beats = next(s for s in breakdown["scenes"] if s["number"] == number)["beats"]
        shot_id = shot_id or shots[0].id
        staged = stagings[number]
        bare = replace(Staging(), hour=staged.hour, ground=staged.ground)
        w, h = 1920, 1080
        for kind, staging in (("as the script stages it", staged), ("baseline, set alone", bare)):
            stage = build_scene_stage(scene, shots, 24.0, beats=beats, staging=staging)
            assert isinstance(stage, Usd.Stage)
            loaded = renderer.load(stage)
            cam = stage_cameras(stage)[shot_id]
            first = float(cam.first)
            loaded.render(cam.camera, first, w, h)
            t = time.perf_counter()
            for _ in range(10):
                loaded.render(cam.camera, first, w, h)
            full = (time.perf_counter() - t) / 10 * 1000
            t = time.perf_counter()
            for k in range(10):  # a new frame each time: matrices, instances, the shadow map
                loaded.render(cam.camera, first + 2 * (k + 1), w, h)
            moving = (time.perf_counter() - t) / 10 * 1000
            t = time.perf_counter()
            for _ in range(3):
                loaded.render(cam.camera, first, w, h, passes=True)
            passes = (time.perf_counter() - t) / 3 * 1000
            line = (f"scene {number} shot {shot_id} ({label}; {kind}; {loaded.tess.triangles} triangles, "
                    f"{sum(len(b.matrices) for b in loaded._batches)} instances) 1920x1080: previs look "
                    f"{full:.0f} ms (target <= 100), new frame {moving:.0f} ms, with passes {passes:.0f} ms")  # fmt: skip
            if kind.startswith("baseline"):
                line += f"; plain raster {_plain_raster_ms(renderer, loaded, cam.camera, w, h):.0f} ms"
            print(line)
            loaded.release()
    renderer.release()


def hundred_shot_script(folder: Path) -> tuple[Path, int]:
    """The example's scenes, in order, until the plan holds about 100 shots."""
    from moviola.plan import build_plan
    from moviola.script import build_breakdown, read_screenplay

    text = NEVADA.read_text("utf-8")
    plan, _ = build_plan(build_breakdown(read_screenplay(NEVADA)))
    count = 0
    keep = 0
    for scene in plan["scenes"]:
        count += len(scene["shot_ids"])
        keep += 1
        if count >= 100:
            break
    headings = [m.start() for m in re.finditer(r"^(INT|EXT)[^\n]*$", text, re.M)]
    cut = headings[keep] if keep < len(headings) else len(text)
    path = folder / "hundred.fountain"
    path.write_text(text[:cut], "utf-8")
    return path, count


def package_figures() -> None:
    import av

    from moviola.core import init_project, open_project
    from moviola.previs import run_previs
    from moviola.script import import_script

    with tempfile.TemporaryDirectory() as tmp:
        script, shots = hundred_shot_script(Path(tmp))
        project = init_project(Path(tmp) / "p", name="bench")
        import_script(project, script)
        t = time.perf_counter()
        result = run_previs(open_project(project.root), use_model=False)
        total = time.perf_counter() - t
        doc = result.document
        print(f"whole previs, {shots} shots, {doc['animatic']['duration_s'] / 60:.1f} min "
              f"animatic at {doc['settings']['size'][0]}x{doc['settings']['size'][1]}: "
              f"{total:.1f} s (target <= 60 s)")  # fmt: skip
        for s in doc["steps"]:
            print(f"  {s['name']:<15} {s['seconds']:>7.1f} s  {s['detail']}")
        t = time.perf_counter()
        run_previs(open_project(project.root), use_model=False)
        print(f"baseline: second run, nothing changed: {time.perf_counter() - t:.1f} s")
        frames = int(doc["animatic"]["frames"])
        w, h = doc["settings"]["size"]
        out = av.open(str(Path(tmp) / "floor.mp4"), "w", format="mp4")
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "22", "preset": "ultrafast", "bf": "0", "g": "48"}
        still = np.full((h * 3 // 2, w), 128, np.uint8)
        t = time.perf_counter()
        for i in range(frames):
            still[h - 40 : h - 20, 20:200] = i % 200  # a changing timecode-sized patch
            frame = av.VideoFrame.from_ndarray(still, format="yuv420p")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        out.close()
        print(f"baseline: x264 encoding {frames} frames of a still: {time.perf_counter() - t:.1f} s")


def main() -> None:
    print(f"cores: {len(os.sched_getaffinity(0))}")
    frame_figures()
    if "--frames-only" not in sys.argv:
        package_figures()


if __name__ == "__main__":
    main()
