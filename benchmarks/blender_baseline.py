"""The traditional side of the comparison: Blender's rigid bodies and renderer on the same machine.

A wall of pre-cut blocks (as many pieces as our palace shot has shards, 280)
textured with the same plate through the camera, glued by breakable fixed
constraints; a storey two-thirds up is gone, so the floors above drop onto
the rest and break it, down onto a ground plane; baked over 120
frames and rendered at 1920x1080 by Cycles on the CPU (16 samples, the
denoiser on) or EEVEE. No dust or smoke simulation and no compositing, so this
is the floor of a traditional pipeline's machine time, before any artist hour.

Run it with a Python that has Blender as a module (not part of Moviola):

    python3.11 -m venv /tmp/bpy && /tmp/bpy/bin/pip install bpy==5.0.1
    /tmp/bpy/bin/python benchmarks/blender_baseline.py [--engine cycles|eevee] [--frames-rendered 4]

It renders a few frames spread over the shot and scales up to 120 (the frames
cost about the same: the same geometry in view), and says so.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import bpy  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parent.parent
PLATE = ROOT / "examples" / "palace" / "palace_plate.jpg"
FRAMES = 120
COLS, ROWS = 14, 21  # 280 blocks once the failed storey is gone
FAILED_ROWS = (12,)
WIDTH_M, HEIGHT_M, DEPTH_M = 24.0, 30.0, 0.6


def _arg(name: str, default: str) -> str:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def build() -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, FRAMES
    scene.render.fps = 24
    bpy.ops.rigidbody.world_add()
    world = scene.rigidbody_world
    world.point_cache.frame_start, world.point_cache.frame_end = 1, FRAMES
    world.substeps_per_frame = 8  # as our simulation steps a 24 fps frame
    # the plate, projected through the camera onto every block (as our shards carry it)
    mat = bpy.data.materials.new("plate")
    if not mat.node_tree:  # Blender 5 materials have nodes already
        mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    tex = nodes.new("ShaderNodeTexImage")
    tex.image = bpy.data.images.load(str(PLATE))
    coords = nodes.new("ShaderNodeTexCoord")
    links.new(coords.outputs["Window"], tex.inputs["Vector"])
    bsdf = nodes["Principled BSDF"]
    links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
    bw, bh = WIDTH_M / COLS, HEIGHT_M / ROWS
    blocks = {}
    mesh = bpy.data.meshes.new("block")
    import bmesh  # type: ignore[import-not-found]

    bm = bmesh.new()
    bmesh.ops.create_cube(bm, size=1.0)
    bm.to_mesh(mesh)
    bm.free()
    mesh.materials.append(mat)
    for i in range(COLS):
        for j in range(ROWS):
            if j in FAILED_ROWS:  # the storey that gives way: the floors above drop onto the rest
                continue
            ob = bpy.data.objects.new(f"b{i}_{j}", mesh)
            ob.scale = (bw * 0.999, DEPTH_M, bh * 0.999)
            ob.location = (-WIDTH_M / 2 + (i + 0.5) * bw, 0.0, (j + 0.5) * bh)
            ob["z0"] = ob.location.z
            scene.collection.objects.link(ob)
            blocks[(i, j)] = ob
    ground_mesh = bpy.data.meshes.new("ground")
    bm = bmesh.new()
    bmesh.ops.create_grid(bm, x_segments=1, y_segments=1, size=200.0)
    bm.to_mesh(ground_mesh)
    bm.free()
    ground = bpy.data.objects.new("ground", ground_mesh)
    scene.collection.objects.link(ground)
    layer = bpy.context.view_layer
    for ob in [*blocks.values(), ground]:
        layer.objects.active = ob  # the operators act on the view layer's active object
        bpy.ops.rigidbody.object_add()
        ob.rigid_body.collision_shape = "BOX"
        ob.rigid_body.friction = 0.75
    ground.rigid_body.type = "PASSIVE"
    # glue: a breakable fixed constraint between every pair of neighbours; the top weak
    for (i, j), ob in blocks.items():
        for di, dj in ((1, 0), (0, 1)):
            other = blocks.get((i + di, j + dj))
            if other is None:
                continue
            empty = bpy.data.objects.new(f"c{i}_{j}_{di}", None)
            empty.location = ((ob.location.x + other.location.x) / 2, 0.0, (ob.location.z + other.location.z) / 2)
            scene.collection.objects.link(empty)
            layer.objects.active = empty
            bpy.ops.rigidbody.constraint_add(type="FIXED")
            c = empty.rigid_body_constraint
            c.object1, c.object2 = ob, other
            c.use_breaking = True
            c.breaking_threshold = 15.0  # the falling mass breaks what it lands on
    cam_data = bpy.data.cameras.new("cam")
    cam = bpy.data.objects.new("cam", cam_data)
    cam.location = (0.0, -42.0, 15.0)
    cam.rotation_euler = (1.5708, 0.0, 0.0)
    cam_data.lens = 35
    scene.collection.objects.link(cam)
    scene.camera = cam
    sun_data = bpy.data.lights.new("sun", type="SUN")
    sun_data.energy = 4.0
    sun = bpy.data.objects.new("sun", sun_data)
    sun.rotation_euler = (0.8, 0.2, 0.4)
    scene.collection.objects.link(sun)
    scene.world = bpy.data.worlds.new("sky")
    scene.world.color = (0.3, 0.45, 0.8)


def main() -> None:
    engine = _arg("--engine", "cycles")
    shown = int(_arg("--frames-rendered", "4"))
    print(f"machine: {os.cpu_count()} cores; Blender {bpy.app.version_string}")
    t = time.perf_counter()
    build()
    built = time.perf_counter() - t
    scene = bpy.context.scene
    t = time.perf_counter()
    with bpy.context.temp_override(scene=scene):
        bpy.ops.ptcache.bake_all(bake=True)
    baked = time.perf_counter() - t
    r = scene.render
    r.resolution_x, r.resolution_y, r.resolution_percentage = 1920, 1080, 100
    if engine == "eevee":
        r.engine = "BLENDER_EEVEE_NEXT" if "BLENDER_EEVEE_NEXT" in {
            e.identifier for e in bpy.types.RenderSettings.bl_rna.properties["engine"].enum_items} else "BLENDER_EEVEE"
    else:
        r.engine = "CYCLES"
        scene.cycles.device = "CPU"
        scene.cycles.samples = 16
        scene.cycles.use_denoising = True
    r.image_settings.file_format = "OPEN_EXR"
    out = Path(tempfile.mkdtemp(prefix="blender-baseline-"))
    frames = sorted({1 + round(k * (FRAMES - 1) / max(shown - 1, 1)) for k in range(shown)})
    times = []
    for f in frames:
        scene.frame_set(f)
        r.filepath = str(out / f"frame_{f:04d}")
        t = time.perf_counter()
        bpy.ops.render.render(write_still=True)
        times.append(time.perf_counter() - t)
    per_frame = sum(times) / len(times)
    total = built + baked + per_frame * FRAMES
    blocks = [o for o in scene.objects if o.name.startswith("b")]
    scene.frame_set(FRAMES)
    fallen = sum(1 for o in blocks if o.matrix_world.translation.z < o["z0"] - 1.0)
    print(f"build the scene        {built:8.1f} s  ({len(blocks)} blocks, breakable fixed constraints)")
    print(f"collapse               {fallen} of {len(blocks)} blocks fell more than a metre by frame {FRAMES}")
    print(f"bake 120 frames        {baked:8.1f} s  (Bullet rigid bodies)")
    print(f"render ({r.engine}) {per_frame:8.1f} s a frame at 1920x1080, measured on frames {frames}")
    print(f"whole shot, estimated  {total:8.1f} s  = build + bake + 120 x a frame (no dust, no comp)")


if __name__ == "__main__":
    main()
