"""The previs rasterizer: moderngl on an EGL context, no display needed.

On a machine without a GPU, Mesa's llvmpipe runs the same GLSL on the CPU;
with a GPU the driver does. One geometry pass writes lit colour (grey-shaded,
sun or key light with soft PCF shadows, hemisphere fill), camera-space
normals, linear depth in metres and an object id into separate targets; one
screen pass adds the sky, fog and ink outlines and draws the line-art pass.

Cameras come from the USD camera prim itself (``UsdGeom.Camera.GetCamera``:
focal length, filmback and transform at the frame), so what is rendered is
what a 3D artist sees through that camera in their own tool.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..core._gl import EGL_PACKAGES, create_context
from ._tessellate import (
    InstanceBatch,
    Tessellation,
    instance_transforms,
    may_move,
    stage_bounds,
    tessellate,
    world_matrices,
)

NEAR, FAR = 0.05, 2000.0
_DEPTH_TEST = 2  # moderngl.DEPTH_TEST (its own flag, not the GL enum)

# Each prim's model matrix (4 texels) and normal matrix (3) are a row of u_xf.
_XF_GLSL = """
uniform sampler2D u_xf;
mat4 model(int i) {
    return mat4(texelFetch(u_xf, ivec2(0, i), 0), texelFetch(u_xf, ivec2(1, i), 0),
                texelFetch(u_xf, ivec2(2, i), 0), texelFetch(u_xf, ivec2(3, i), 0));
}
mat3 normal_matrix(int i) {
    return mat3(texelFetch(u_xf, ivec2(4, i), 0).xyz, texelFetch(u_xf, ivec2(5, i), 0).xyz,
                texelFetch(u_xf, ivec2(6, i), 0).xyz);
}
"""

_INSTANCE_GLSL = """
#ifdef INSTANCED
in mat4 in_inst;               // the instance's world matrix (USD rows as columns)
in vec3 in_icol;               // and its own colour
uniform bool u_card;           // drawing the far cards (placed by the instance alone)
#endif
vec4 placed(mat4 m, vec3 p) {
#ifdef INSTANCED
    return in_inst * (m * vec4(p, 1.0));
#else
    return m * vec4(p, 1.0);
#endif
}
vec3 turned(mat3 nm, vec3 n) {
#ifdef INSTANCED
    return mat3(in_inst) * (nm * n);
#else
    return nm * n;
#endif
}
"""

_GEOMETRY_VS = """
#version 330
""" + _XF_GLSL + _INSTANCE_GLSL + """
uniform mat4 u_vp;             // projection x view, the same product the depth pre-pass uses
invariant gl_Position;
in vec3 in_pos; in vec3 in_nrm; in vec3 in_col; in float in_prim; in float in_obj;
in float in_surface; in float in_emit;
uniform mat4 u_view;
out vec3 v_world; out vec3 v_nrm; out vec3 v_col; out float v_obj; out float v_depth;
out vec3 v_local; out vec3 v_lnrm; out float v_surface; out float v_emit; out float v_seed;
void main() {
    int i = int(in_prim + 0.5);
#ifdef INSTANCED
    // a far card sits in its instance's own frame: no prototype part's matrix to fetch
    mat4 m = u_card ? mat4(1.0) : model(i);
    mat3 nm = u_card ? mat3(1.0) : normal_matrix(i);
#else
    mat4 m = model(i);
    mat3 nm = normal_matrix(i);
#endif
    vec4 w = placed(m, in_pos);
    v_world = w.xyz; v_nrm = turned(nm, in_nrm); v_col = in_col; v_obj = in_obj;
    v_depth = -(u_view * w).z;  // view depth: linear in view space, so exact per pixel
#ifdef INSTANCED
    if (in_surface > 2.5) v_col = in_icol;
#endif
    // a unit cube's own metres from its lower corner: windows stay on a falling floor
    v_local = (in_pos + 0.5) * vec3(length(m[0].xyz), length(m[1].xyz), length(m[2].xyz));
    v_lnrm = in_nrm; v_surface = in_surface; v_emit = in_emit; v_seed = in_prim;
    gl_Position = u_vp * w;
}
"""

_GEOMETRY_FS = """
#version 330
uniform mat4 u_view;
uniform mat4 u_light;          // world -> light clip space
uniform sampler2DShadow u_shadow;
uniform float u_shadow_texel;
uniform vec3 u_light_dir;      // towards the light
uniform vec3 u_light_col;
uniform vec3 u_sky_col; uniform vec3 u_ground_col;
uniform vec3 u_fog_col; uniform float u_fog;
#if NLIGHTS > 0
uniform vec3 u_lpos[NLIGHTS]; uniform vec3 u_lcol[NLIGHTS];
#endif
uniform float u_windows_lit;   // share of windows lit (night) ...
uniform vec3 u_window_col;     // ... and their warm colour
in vec3 v_world; in vec3 v_nrm; in vec3 v_col; in float v_obj; in float v_depth;
in vec3 v_local; in vec3 v_lnrm; in float v_surface; in float v_emit; in float v_seed;
layout(location = 0) out vec4 o_col;    // display colour (fog applied, gamma 2)
layout(location = 1) out vec4 o_data;   // view depth (m), object id, camera-space normal xy
const vec2 DISK[2] = vec2[](vec2(0.71, 0.71), vec2(-0.71, -0.71));
float shadow(vec3 n) {
    vec4 lc = u_light * vec4(v_world + n * 0.03, 1.0);
    vec3 p = lc.xyz / lc.w * 0.5 + 0.5;
    if (p.x < 0.0 || p.x > 1.0 || p.y < 0.0 || p.y > 1.0 || p.z > 1.0) return 1.0;
    float lit = 0.0;  // two bilinear compares (2x2 PCF each) across a small disc: soft edges
    for (int k = 0; k < 2; k++)
        lit += texture(u_shadow, vec3(p.xy + DISK[k] * u_shadow_texel * 1.2, p.z - 0.0015));
    return lit / 2.0;
}
float hash(vec3 p) {  // a hash without sin (cheaper on the CPU rasterizer)
    vec3 q = fract(p * 0.1031);
    q += dot(q, q.zyx + 31.32);
    return fract((q.x + q.y) * q.z);
}
#ifdef INSTANCED
uniform float u_near_cull;     // weather: no flake closer than this (a crisp blob on the lens)
#endif
void main() {
#ifdef INSTANCED
    if (v_depth < u_near_cull) discard;
#endif
    vec3 n = normalize(v_nrm);
    float ndl = max(dot(n, u_light_dir), 0.0);
#if SHADOWS
    float sh = ndl > 0.0 ? shadow(n) : 0.0;
#else
    float sh = 1.0;            // moonlight: too faint a key to cast a shadow worth drawing
#endif
    vec3 hemi = mix(u_ground_col, u_sky_col, n.y * 0.5 + 0.5);
    vec3 lamps = vec3(0.0);    // street lights and practicals: no shadows, soft falloff
#if NLIGHTS > 0
    for (int k = 0; k < NLIGHTS; k++) {  // a constant count: unrolled, no per-pixel loop
        vec3 l = u_lpos[k] - v_world;
        float d2 = dot(l, l);
        lamps += u_lcol[k] * max(dot(n, l * inversesqrt(max(d2, 1e-4))), 0.0) / (1.0 + d2);
    }
#endif
    vec3 c = v_col * (hemi + u_light_col * ndl * sh + lamps);
    if (v_surface > 0.5 && v_surface < 1.5 && abs(v_lnrm.y) < 0.5) {
        // a facade: storeys of 3.5 m, bays of 3.2 m; a share of the windows lit at night
        float u = abs(v_lnrm.x) > abs(v_lnrm.z) ? v_local.z : v_local.x;
        vec2 g = vec2(u / 3.2, v_local.y / 3.5);
        vec2 f = fract(g);
        if (f.x > 0.18 && f.x < 0.82 && f.y > 0.3 && f.y < 0.85 && v_local.y > 1.0) {
            vec3 cell = vec3(floor(g), v_seed);
            if (hash(cell) < u_windows_lit) c = u_window_col * (0.6 + 0.7 * hash(cell.yxz + 3.1));
            else c = v_col * 0.35 * (hemi + u_light_col * ndl * sh * 0.3 + lamps);
        }
    }
    if (v_surface > 1.5 && v_surface < 2.5) c += v_col * v_emit;
    float depth = v_depth;
    c = mix(c, u_fog_col, 1.0 - exp(-u_fog * depth));
    o_col = vec4(sqrt(clamp(c, 0.0, 1.0)), 1.0);
#if PASSES
    vec3 vn = normalize(mat3(u_view) * n);
    o_data = vec4(depth, v_obj, vn.xy);
#else
    o_data = vec4(0.0);        // no data target: nothing to work out
#endif
}
"""

_SHADOW_VS = """
#version 330
""" + _XF_GLSL + _INSTANCE_GLSL + """
uniform mat4 u_light;
invariant gl_Position;
in vec3 in_pos; in float in_prim;
void main() {
#ifdef INSTANCED
    gl_Position = u_light * placed(u_card ? mat4(1.0) : model(int(in_prim + 0.5)), in_pos);
#else
    gl_Position = u_light * placed(model(int(in_prim + 0.5)), in_pos);
#endif
}
"""

_SHADOW_FS = """
#version 330
void main() {}
"""

_SKY_VS = """
#version 330
in vec2 in_xy;
out vec2 v_uv;
void main() { v_uv = in_xy * 0.5 + 0.5; gl_Position = vec4(in_xy, 1.0, 1.0); }
"""

_SKY_FS = """
#version 330
uniform mat3 u_cam_to_world;
uniform vec4 u_window;        // the frustum window at distance 1: min x, min y, max x, max y
uniform vec3 u_zenith; uniform vec3 u_horizon; uniform vec3 u_below;
in vec2 v_uv;
layout(location = 0) out vec4 o_col;
layout(location = 1) out vec4 o_data;
void main() {
    vec3 dir = normalize(u_cam_to_world * vec3(mix(u_window.xy, u_window.zw, v_uv), -1.0));
    float h = dir.y;
    vec3 c = h >= 0.0 ? mix(u_horizon, u_zenith, sqrt(h)) : mix(u_horizon, u_below, min(1.0, -h * 4.0));
    o_col = vec4(sqrt(c), 1.0);
    o_data = vec4(0.0);
}
"""

# Ink outlines by the inverted hull: each object's back faces, pushed out along their
# normals by a fixed number of pixels, show only as a rim around its silhouette.
_OUTLINE_VS = """
#version 330
""" + _XF_GLSL + """
uniform mat4 u_vp;
uniform vec3 u_eye;
uniform vec2 u_px;             // line width in clip units (x, y)
in vec3 in_pos; in vec3 in_nrm; in float in_prim;
out float v_back;
void main() {
    int i = int(in_prim + 0.5);
    mat4 m = model(i);
    mat3 nm = normal_matrix(i);
    vec4 w = m * vec4(in_pos, 1.0);
    vec3 n = normalize(nm * in_nrm);
    v_back = dot(n, u_eye - w.xyz);
    vec4 c = u_vp * w;
    vec4 c2 = u_vp * vec4(w.xyz + n * 0.01, 1.0);
    vec2 d = c2.xy / c2.w - c.xy / c.w;
    float len = length(d);
    if (len > 1e-6) c.xy += d / len * u_px * c.w;
    gl_Position = c;
}
"""

_OUTLINE_FS = """
#version 330
uniform vec3 u_ink;
in float v_back;
layout(location = 0) out vec4 o_col;
void main() {
    if (v_back > 0.0) discard;   // front faces of the hull would cover the object
    o_col = vec4(u_ink, 1.0);
}
"""


def _variant(source: str, instanced: bool, lights: int = 0, shadows: bool = True, passes: bool = True) -> str:
    """The shader for an instanced draw or not, a number of lamps, with shadows or without:
    each a constant, so llvmpipe compiles straight-line code (a loop bounded by a uniform,
    or a lookup skipped by a branch, costs every pixel)."""
    defines = (f"#version 330\n#define NLIGHTS {lights}\n#define SHADOWS {int(shadows)}"
               f"\n#define PASSES {int(passes)}" + ("\n#define INSTANCED" if instanced else ""))  # fmt: skip
    return source.replace("#version 330", defines, 1)


@dataclass(frozen=True)
class Look:
    """Light and air for a set: the previs look, by inside/outside and hour."""

    light_dir: tuple[float, float, float]
    light_col: tuple[float, float, float]
    sky_col: tuple[float, float, float]  # hemisphere fill from above
    ground_col: tuple[float, float, float]  # ... and from below
    zenith: tuple[float, float, float]
    horizon: tuple[float, float, float]
    below: tuple[float, float, float]
    fog: float  # density per metre
    windows_lit: float = 0.0  # share of a facade's windows lit (night)
    window_col: tuple[float, float, float] = (1.0, 0.72, 0.42)
    shadows: bool = True  # the key light casts shadows (not moonlight: too faint to show)

    @staticmethod
    def for_set(int_ext: str, time_of_day: str, fog: bool = True, *,
                sky_tint: tuple[float, float, float] | None = None,
                light_tint: tuple[float, float, float] | None = None) -> Look:  # fmt: skip
        """The look of a set by inside/outside and hour (a heading's word or a resolved
        ``day``/``night``/``dawn``/``dusk``), tinted by the script's colour words."""
        hour = time_of_day.upper()
        night = any(w in hour for w in ("NIGHT", "EVENING", "NOCHE", "MIDNIGHT"))
        golden = any(w in hour for w in ("DUSK", "DAWN", "SUNSET", "SUNRISE"))
        interior = int_ext.upper().startswith("INT") and "EXT" not in int_ext.upper()
        sun = _normalise((-0.45, 0.8, 0.35)) if not golden else _normalise((-0.8, 0.3, 0.4))
        if night:  # moonlight: a dim, cool key; the city's lights do the rest
            look = Look(sun, (0.1, 0.12, 0.2), (0.05, 0.06, 0.1), (0.03, 0.03, 0.04),
                        (0.02, 0.03, 0.07), (0.09, 0.11, 0.18), (0.04, 0.04, 0.05), 0.005,
                        windows_lit=0.55, shadows=False)  # fmt: skip
        elif golden:
            look = Look(sun, (1.25, 0.85, 0.55), (0.3, 0.3, 0.38), (0.16, 0.12, 0.1),
                        (0.25, 0.35, 0.6), (0.95, 0.65, 0.45), (0.3, 0.25, 0.22), 0.006,
                        windows_lit=0.2)  # fmt: skip
        else:
            look = Look(sun, (1.05, 1.0, 0.92), (0.36, 0.4, 0.48), (0.2, 0.18, 0.16),
                        (0.3, 0.5, 0.85), (0.78, 0.85, 0.92), (0.35, 0.33, 0.3), 0.004)  # fmt: skip
        if sky_tint is not None:  # "a low, copper sky": the horizon takes the colour, the zenith some
            k = 0.35 if night else 0.8
            horizon = tuple(k * c + 0.25 * h for c, h in zip(sky_tint, look.horizon, strict=True))
            zenith = tuple(0.35 * k * c + 0.6 * z for c, z in zip(sky_tint, look.zenith, strict=True))
            sky = tuple(0.75 * s_ + 0.25 * k * c for c, s_ in zip(sky_tint, look.sky_col, strict=True))
            look = replace(look, horizon=horizon, zenith=zenith, sky_col=sky)  # type: ignore[arg-type]
        if light_tint is not None:  # "cold blue light": the key leans to the hue, keeps its strength
            strength = max(look.light_col)
            peak = max(max(light_tint), 1e-3)
            mixed = [0.4 * c / strength + 0.6 * t / peak for c, t in zip(look.light_col, light_tint, strict=True)]
            top = max(mixed)
            look = replace(look, light_col=tuple(strength * m / top for m in mixed))  # type: ignore[arg-type]
        if interior:  # a key light high and to the side; the fill (and the practicals) do the rest
            look = Look(_normalise((-0.35, 0.85, 0.4)), tuple(1.1 * c for c in look.light_col),  # type: ignore[arg-type]
                        (0.42, 0.42, 0.45) if not night else (0.16, 0.16, 0.2),
                        (0.22, 0.2, 0.18) if not night else (0.07, 0.06, 0.06), look.zenith,
                        look.horizon, look.below, 0.0, look.windows_lit, look.window_col,
                        look.shadows)  # fmt: skip
        if not fog:
            look = replace(look, fog=0.0)
        return look


def _normalise(v: tuple[float, float, float]) -> tuple[float, float, float]:
    n = math.sqrt(sum(c * c for c in v))
    return (v[0] / n, v[1] / n, v[2] / n)


@dataclass
class Frame:
    """One rendered frame: display RGB, and the passes for generative tools."""

    rgb: NDArray[np.uint8]  # (h, w, 3), display-referred
    line: NDArray[np.uint8] | None = None  # (h, w), ink on white
    depth: NDArray[np.float32] | None = None  # (h, w) metres along the view axis; 0 = sky
    normals: NDArray[np.float32] | None = None  # (h, w, 3) camera space, +Z toward the camera
    ids: NDArray[np.int32] | None = None  # (h, w) object id, 0 = sky


class Renderer:
    """Holds the GL context and the per-size targets; renders stages loaded into it."""

    def __init__(self, *, shadow_size: int = 2048) -> None:
        self.ctx = create_context()
        self.info = str(self.ctx.info.get("GL_RENDERER", "unknown"))
        ctx = self.ctx
        self._geo_programs: dict[tuple[bool, int, bool, bool], Any] = {}
        self._shadow_prog = ctx.program(vertex_shader=_SHADOW_VS, fragment_shader=_SHADOW_FS)
        self._shadow_i = ctx.program(vertex_shader=_variant(_SHADOW_VS, True), fragment_shader=_SHADOW_FS)
        self._sky = ctx.program(vertex_shader=_SKY_VS, fragment_shader=_SKY_FS)
        self._outline = ctx.program(vertex_shader=_OUTLINE_VS, fragment_shader=_OUTLINE_FS)
        quad = np.array([-1, -1, 1, -1, -1, 1, 1, 1], np.float32)
        self._quad = ctx.vertex_array(self._sky, [(ctx.buffer(quad.tobytes()), "2f", "in_xy")])
        self._shadow_tex = ctx.depth_texture((shadow_size, shadow_size))
        self._shadow_tex.compare_func = "<="
        self._shadow_tex.repeat_x = self._shadow_tex.repeat_y = False
        import moderngl

        self._shadow_tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self._shadow_fbo = ctx.framebuffer(depth_attachment=self._shadow_tex)
        self._shadow_size = shadow_size
        self._targets: dict[tuple[int, int, bool], Any] = {}
        self._held: dict[tuple[int, int], Any] = {}
        self._shadow_owner: StageScene | None = None

    def geometry(self, instanced: bool, lights: int, shadows: bool = True, passes: bool = True) -> Any:
        """The lit program for instanced draws or not, with ``lights`` lamps, with or without
        the key light's shadows, writing the data target or not (each compiled once)."""
        key = (instanced, lights, shadows, passes)
        if key not in self._geo_programs:
            self._geo_programs[key] = self.ctx.program(
                vertex_shader=_variant(_GEOMETRY_VS, instanced),
                fragment_shader=_variant(_GEOMETRY_FS, instanced, lights, shadows, passes),
            )
        return self._geo_programs[key]

    def load(self, stage: Any, look: Look | None = None) -> StageScene:
        return StageScene(self, stage, look)

    def targets(self, width: int, height: int, passes: bool) -> Any:
        """Framebuffers by size: display colour only, or with the data target for passes."""
        key = (width, height, passes)
        if key not in self._targets:
            if len(self._targets) > 4:  # sizes vary rarely; keep memory bounded
                for fbo in self._targets.values():
                    _release_framebuffer(fbo)
                self._targets.clear()
            ctx = self.ctx
            size = (width, height)
            colour = [ctx.renderbuffer(size, 4)]
            if passes:  # a texture reads back faster than a float renderbuffer on llvmpipe
                colour.append(ctx.texture(size, 4, dtype="f4"))
            self._targets[key] = ctx.framebuffer(colour, ctx.depth_renderbuffer(size))
        return self._targets[key]

    def held(self, width: int, height: int) -> Any:
        """A framebuffer that keeps a rendered picture (colour and depth) by size."""
        key = (width, height)
        if key not in self._held:
            for fbo in self._held.values():  # one size at a time: the animatic's
                _release_framebuffer(fbo)
            ctx = self.ctx
            self._held = {key: ctx.framebuffer([ctx.renderbuffer(key, 4)], ctx.depth_renderbuffer(key))}
        return self._held[key]

    def release(self) -> None:
        self.ctx.release()


class StageScene:
    """A stage's geometry uploaded once; frames render it from its cameras."""

    def __init__(self, renderer: Renderer, stage: Any, look: Look | None) -> None:
        self.renderer = renderer
        self.stage = stage
        world = stage.GetDefaultPrim() or stage.GetPrimAtPath("/World")

        def custom(key: str) -> str:  # "a:b" keys are nested dictionaries in USD customData
            return str(world.GetCustomDataByKey(key) or "") if world else ""

        def tint(key: str) -> tuple[float, float, float] | None:
            value = world.GetCustomDataByKey(key) if world else None
            return (float(value[0]), float(value[1]), float(value[2])) if value is not None else None

        # the hour the breakdown resolved (a CONTINUOUS scene is as dark as the one before it);
        # a stage from elsewhere has only its heading's words
        hour = custom("moviola:hour") or custom("moviola:time_of_day")
        self.look = look or Look.for_set(custom("moviola:int_ext"), hour,
                                         sky_tint=tint("moviola:sky_tint"),
                                         light_tint=tint("moviola:light_tint"))  # fmt: skip
        self.tess: Tessellation = tessellate(stage)
        ctx = renderer.ctx
        t = self.tess
        n = len(t.prims) + 1  # the last row: identity, for the instances' box stand-ins
        self._identity_row = len(t.prims)
        self._xf = ctx.texture((7, n), 4, dtype="f4")
        import moderngl

        self._xf.filter = (moderngl.NEAREST, moderngl.NEAREST)
        self._vbo = ctx.buffer(_interleave(t.positions, t.normals, t.colours, t.prim_index,
                                           t.object_index, t.surface, t.emission))  # fmt: skip
        self._vaos: dict[tuple[int, bool, bool], Any] = {}  # lit VAO by its program's variant
        self._shadow_vao = ctx.vertex_array(
            renderer._shadow_prog, [(self._vbo, _SHADOW_LAYOUT, "in_pos", "in_prim")]
        )
        self._outline_vao = ctx.vertex_array(
            renderer._outline, [(self._vbo, _OUTLINE_LAYOUT, "in_pos", "in_nrm", "in_prim")]
        )
        self._batches = [_BatchDraw(renderer, b, self._identity_row) for b in t.batches]
        self._lights = _stage_lights(stage)
        self._time: float | None = None
        self._light = np.eye(4, dtype=np.float32)
        self._matrices: NDArray[np.float32] | None = None
        self._moving_rows: list[int] = []
        self._shadow_time: float | None = None

    def _lit_vao(self, lights: int, shadows: bool, passes: bool) -> Any:
        key = (lights, shadows, passes)
        if key not in self._vaos:
            prog = self.renderer.geometry(False, lights, shadows, passes)
            # a variant without the data target has no use for the ids: skip what it dropped
            self._vaos[key] = self.renderer.ctx.vertex_array(prog, [(self._vbo, _LAYOUT, *_NAMES)],
                                                             skip_errors=True)  # fmt: skip
        return self._vaos[key]

    @property
    def objects(self) -> list[str]:
        return self.tess.objects

    def _pose(self, time: float, shadow: bool = True) -> None:
        """World matrices at ``time``, and the sun's shadow map for them (when asked for)."""
        r = self.renderer
        t = self.tess
        if self._time != time:
            self._time = time
            self._shadow_time = None
            if self._matrices is None:  # every prim once; then only those that can move
                m = world_matrices(t.prims, time, t.roots)
                self._matrices = np.concatenate([m, _identity_row()])
                self._moving_rows = [i for i, prim in enumerate(t.prims) if may_move(prim)]
            elif self._moving_rows:
                moving = self._moving_rows
                self._matrices[moving] = world_matrices([t.prims[i] for i in moving], time,
                                                        [t.roots[i] for i in moving])  # fmt: skip
            self._xf.write(np.ascontiguousarray(self._matrices, np.float32).tobytes())
            for batch in self._batches:
                batch.pose(time)
        if not shadow or not self.look.shadows:
            return
        if self._shadow_time == time and r._shadow_owner is self:
            return
        self._shadow_time = time
        r._shadow_owner = self  # the shadow map is the renderer's: say whose it is now
        assert self._matrices is not None
        self._light = self._light_matrix(self._matrices[:-1])
        r._shadow_fbo.use()
        r._shadow_fbo.clear(depth=1.0)
        self.renderer.ctx.enable(_DEPTH_TEST)
        self._xf.use(0)
        _set(r._shadow_prog, "u_xf", 0)
        _set(r._shadow_prog, "u_light", self._light.T.astype(np.float32).tobytes())
        if self.tess.triangles:
            casters = self.tess.casters
            self._shadow_vao.render(vertices=casters if casters >= 0 else -1)
        for batch in self._batches:
            if batch.casts_shadow:
                batch.split(None)
                batch.draw_depth(r._shadow_i, self._light.T.astype(np.float32).tobytes())

    def _light_matrix(self, m: NDArray[np.float32]) -> NDArray[np.float32]:
        """Orthographic sun fitted to the set (capped, so a vast ground keeps detail)."""
        lo, hi = stage_bounds(self.tess, m) if self.tess.triangles else (np.zeros(3), np.ones(3))
        centre = (lo + hi) / 2
        half = np.minimum((hi - lo) / 2, 40.0)
        radius = float(np.linalg.norm(half)) + 1.0
        d = np.asarray(self.look.light_dir, np.float64)
        eye = centre + d * radius * 2
        return (_ortho(radius, 0.1, radius * 4) @ _look_at(eye, centre)).astype(np.float32)

    @property
    def has_air(self) -> bool:
        """Whether the stage has weather (drawn apart by :meth:`render_air` in the animatic)."""
        return any(b.batch.far == "hide" for b in self._batches)

    def _view(self, camera: Any, time: float) -> tuple[Any, NDArray[np.float32], NDArray[np.float32]]:
        """(Gf camera, view, projection) of ``camera`` at ``time``; matrices row-vector as USD's."""
        from pxr import Gf

        gf_cam = camera.GetCamera(time)
        frustum = gf_cam.frustum
        frustum.SetNearFar(Gf.Range1d(NEAR, FAR))
        view = np.asarray(frustum.ComputeViewMatrix(), np.float32)  # row-vector = GL column-major
        proj = np.asarray(frustum.ComputeProjectionMatrix(), np.float32)
        return gf_cam, view, proj

    def _lighting(self, progs: Sequence[Any], view: NDArray[np.float32], vp: bytes,
                  lamps: list[Any]) -> None:  # fmt: skip
        """The lit programs' uniforms: matrices, the look, the lamps."""
        r, look = self.renderer, self.look
        for prog in progs:
            _set(prog, "u_xf", 0)
            _set(prog, "u_shadow", 1)
            _set(prog, "u_shadow_texel", 1.0 / r._shadow_size)
            _set(prog, "u_view", view.tobytes())
            _set(prog, "u_vp", vp)
            _set(prog, "u_light", self._light.T.astype(np.float32).tobytes())
            _set(prog, "u_light_dir", look.light_dir)
            _set(prog, "u_light_col", look.light_col)
            _set(prog, "u_sky_col", look.sky_col)
            _set(prog, "u_ground_col", look.ground_col)
            _set(prog, "u_fog_col", look.horizon)
            _set(prog, "u_fog", look.fog)
            _set(prog, "u_windows_lit", look.windows_lit)
            _set(prog, "u_window_col", look.window_col)
            if lamps:
                _set(prog, "u_lpos", np.array([p for p, _ in lamps], np.float32).tobytes())
                _set(prog, "u_lcol", np.array([c for _, c in lamps], np.float32).tobytes())

    def hold(self, width: int, height: int) -> None:
        """Keep the picture just rendered (colour and depth) for :meth:`render_air`."""
        r = self.renderer
        r.ctx.copy_framebuffer(r.held(width, height), r.targets(width, height, False))

    def render_over(self, camera: Any, time: float, width: int, height: int, *, moving: bool = True,
                    ink: float = 0.85) -> Frame:  # fmt: skip
        """The held picture with what moves drawn into it at ``time``, depth-tested against it:
        the weather always, and (``moving``) every prim that may move, inked.

        The animatic between two renders of a shot its camera holds: the same geometry and
        light as :meth:`render`, only the still set is not drawn again. (Held only where no
        sun casts the movers' shadows on the set: :attr:`holds_movers`.)
        """
        self._pose(time, shadow=False)
        r = self.renderer
        ctx = r.ctx
        fbo = r.targets(width, height, False)
        ctx.copy_framebuffer(fbo, r.held(width, height))
        gf_cam, view, proj = self._view(camera, time)
        vp_rows = view @ proj
        vp = vp_rows.astype(np.float32).tobytes()
        eye = np.asarray(gf_cam.transform, np.float64)[3, :3]
        fbo.use()
        ctx.enable(_DEPTH_TEST)
        ctx.depth_func = "<"
        self._xf.use(0)
        r._shadow_tex.use(1)
        lamps = self._lights.nearest(time, eye)
        air = [b for b in self._batches if b.batch.far == "hide"]
        progs = [r.geometry(False, len(lamps), self.look.shadows, False),
                 r.geometry(True, len(lamps), self.look.shadows, False)]  # fmt: skip
        self._lighting(progs, view, vp, lamps)
        count = self.tess.moving if moving else 0
        if count:
            self._lit_vao(len(lamps), self.look.shadows, False).render(first=0, vertices=count)
        for batch in air:
            batch.split(eye, vp_rows)
            batch.draw_lit(len(lamps), self.look.shadows, False)
        if count and ink > 0:
            self._ink(vp, eye, width, height, ink, 0, count)
        ctx.disable(_DEPTH_TEST)
        return Frame(_read_rgb(fbo, width, height))

    def _ink(self, vp: bytes, eye: NDArray[np.float64], width: int, height: int, ink: float,
             first: int, count: int) -> None:  # fmt: skip
        """Ink outlines (the inverted hull) of ``count`` vertices from ``first``, a pixel or so wide."""
        out = self.renderer._outline
        line_px = max(1.0, width / 1280.0)
        _set(out, "u_xf", 0)
        _set(out, "u_vp", vp)
        _set(out, "u_eye", tuple(float(v) for v in eye))
        _set(out, "u_px", (2.0 * line_px / width, 2.0 * line_px / height))
        _set(out, "u_ink", tuple(0.08 + (1 - ink) * 0.5 for _ in range(3)))
        self._outline_vao.render(first=first, vertices=count)

    def render_air(self, camera: Any, time: float, width: int, height: int) -> Frame:
        """The held picture with the weather at ``time`` drawn into it (see :meth:`render_over`)."""
        return self.render_over(camera, time, width, height, moving=False)

    @property
    def holds_movers(self) -> bool:
        """Whether what moves can be drawn into a held picture of the still set: only where
        no key light casts their shadows on it (at night, by moonlight)."""
        return not self.look.shadows

    def render(self, camera: Any, time: float, width: int, height: int, *, passes: bool | str = False,
               ink: float = 0.85, air: bool = True, still: bool = False) -> Frame:  # fmt: skip
        """Render the frame ``camera`` (a UsdGeom.Camera) sees at ``time``.

        ``passes``: True for depth, ids, normals and line art; ``"ids"`` for depth and ids
        alone (what the subject check reads). ``air=False`` leaves the weather out;
        ``still=True`` leaves out, too, every prim that may move (the animatic's background,
        which :meth:`render_over` draws them into).
        """
        first = self.tess.moving if still else 0
        count = self.tess.triangles * 3 - first
        air = air and not still
        self._pose(time)
        r = self.renderer
        ctx = r.ctx
        fbo = r.targets(width, height, bool(passes))
        n_targets = len(fbo.color_attachments)
        gf_cam, view, proj = self._view(camera, time)
        frustum = gf_cam.frustum
        vp = (view @ proj).astype(np.float32).tobytes()
        look = self.look
        batches = self._batches if air else [b for b in self._batches if b.batch.far != "hide"]
        fbo.use()
        fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        sky = r._sky
        cam_to_world = np.asarray(gf_cam.transform, np.float64)[:3, :3]  # rows = camera axes
        _set(sky, "u_cam_to_world", cam_to_world.astype(np.float32).tobytes())
        window = frustum.GetWindow()
        lo, hi = window.GetMin(), window.GetMax()  # off-centre with a lens shift
        _set(sky, "u_window", (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])))
        _set(sky, "u_zenith", look.zenith)
        _set(sky, "u_horizon", look.horizon)
        _set(sky, "u_below", look.below)
        eye = np.asarray(gf_cam.transform, np.float64)[3, :3]
        if self.tess.triangles or batches:
            ctx.enable(_DEPTH_TEST)
            vp_rows = view @ proj
            for batch in batches:  # near instances in full, far ones as stand-ins
                batch.split(eye, vp_rows)
            # Depth pre-pass: then each pixel is lit once.
            _mask(fbo, [(False, False, False, False)] * n_targets)
            self._xf.use(0)
            _set(r._shadow_prog, "u_xf", 0)
            _set(r._shadow_prog, "u_light", vp)
            if count:
                self._shadow_vao.render(first=first, vertices=count)
            for batch in batches:  # not the weather: its flakes nearest the lens are discarded when lit
                if batch.batch.far != "hide":
                    batch.draw_depth(r._shadow_i, vp)
            _mask(fbo, [(True, True, True, True)] * n_targets)
            ctx.depth_func = "<="
            r._shadow_tex.use(1)
            lamps = self._lights.nearest(time, eye)
            shadows, data = look.shadows, bool(passes)
            self._lighting([r.geometry(False, len(lamps), shadows, data),
                            r.geometry(True, len(lamps), shadows, data)], view, vp, lamps)  # fmt: skip
            if count:
                self._lit_vao(len(lamps), shadows, data).render(first=first, vertices=count)
            for batch in batches:
                batch.draw_lit(len(lamps), shadows, data)
            # The sky (the gradient by view direction) only where nothing was drawn: its quad
            # lies at the far plane, so the depth test keeps it to the empty pixels.
            r._quad.render(mode=5)  # TRIANGLE_STRIP
            ctx.depth_func = "<"
            if ink > 0 and count:  # no ink on instances: a crowd would turn black
                _mask(fbo, [(True, True, True, True)] + [(False,) * 4] * (n_targets - 1))
                self._ink(vp, eye, width, height, ink, first, count)
                _mask(fbo, [(True, True, True, True)] * n_targets)
            ctx.disable(_DEPTH_TEST)
        else:
            ctx.disable(_DEPTH_TEST)
            r._quad.render(mode=5)
        frame = Frame(_read_rgb(fbo, width, height))
        if passes:
            raw = np.frombuffer(fbo.read(components=4, attachment=1, dtype="f4"), np.float32)
            raw = raw.reshape(height, width, 4)[::-1]
            frame.depth = raw[..., 0].copy()
            frame.ids = np.rint(raw[..., 1]).astype(np.int32)
            if passes == "ids":
                return frame
            nx, ny = raw[..., 2], raw[..., 3]
            nz = np.sqrt(np.clip(1.0 - nx * nx - ny * ny, 0.0, 1.0))  # visible faces look back
            frame.normals = np.where((frame.ids > 0)[..., None], np.stack([nx, ny, nz], -1), 0.0
                                     ).astype(np.float32)  # fmt: skip
            frame.line = line_art(frame.depth, frame.ids, frame.normals,
                                  max(1, round(width / 1600)))  # fmt: skip
        return frame

    def release(self) -> None:
        for obj in (*self._vaos.values(), self._shadow_vao, self._outline_vao, self._vbo, self._xf):
            obj.release()
        for batch in self._batches:
            batch.release()


MAX_LIGHTS = 4  # the lamps nearest the camera that light a frame
WEATHER_NEAR_M = 1.0  # flakes nearer the lens than this are not drawn
SHADOW_FULL_INSTANCES = 2000  # more instances than this cast box shadows
_LAYOUT = "3f 3f 3f 1f 1f 1f 1f"
_NAMES = ("in_pos", "in_nrm", "in_col", "in_prim", "in_obj", "in_surface", "in_emit")
_SHADOW_LAYOUT = "3f 12x 12x 1f 12x"
_OUTLINE_LAYOUT = "3f 3f 12x 1f 12x"
_INSTANCE_LAYOUT = "16f 3f/i"


def _release_framebuffer(fbo: Any) -> None:
    for attachment in (*fbo.color_attachments, fbo.depth_attachment):
        attachment.release()
    fbo.release()


def _read_rgb(fbo: Any, width: int, height: int) -> NDArray[np.uint8]:
    """The display colour target, top row first, as a contiguous (h, w, 3) array."""
    rgb = np.frombuffer(fbo.read(components=3, attachment=0), np.uint8)
    return np.ascontiguousarray(rgb.reshape(height, width, 3)[::-1])


def _identity_row() -> NDArray[np.float32]:
    """A row of the matrix texture holding identity (what the instances' cards are placed by)."""
    row = np.zeros((1, 7, 4), np.float32)
    row[0, :4] = np.eye(4)
    row[0, 4:, :3] = np.eye(3)
    return row


def _card(lo: NDArray[np.float32], hi: NDArray[np.float32]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Two triangles across a prototype's bounds, in its XY plane, facing its -Z (its front)."""
    z = float(lo[2] + hi[2]) / 2
    a, b = (float(lo[0]), float(lo[1])), (float(hi[0]), float(hi[1]))
    corners = [(a[0], a[1], z), (a[0], b[1], z), (b[0], b[1], z), (a[0], a[1], z), (b[0], b[1], z), (b[0], a[1], z)]
    positions = np.asarray(corners, np.float32)
    return positions, np.tile(np.array([[0.0, 0.0, -1.0]], np.float32), (6, 1))


def _interleave(*columns: NDArray[np.float32]) -> bytes:
    """Vertex columns side by side, as the VBO layout reads them (a byte of padding if empty)."""
    rows = [c.reshape(len(c), -1) for c in columns]
    data = np.concatenate(rows, axis=1).astype(np.float32) if len(rows[0]) else np.zeros((0, 13))
    return data.tobytes() if len(data) else b"\0" * 52


class _Lights:
    """The stage's UsdLux sphere lights: street lamps and practicals."""

    def __init__(self, lights: list[tuple[Any, tuple[float, float, float]]]) -> None:
        self.lights = lights  # (prim, colour x intensity)

    def nearest(self, time: float, eye: NDArray[np.float64]
                ) -> list[tuple[tuple[float, float, float], tuple[float, float, float]]]:  # fmt: skip
        """The ones nearest the camera, as many as the shader takes."""
        if not self.lights:
            return []
        from pxr import UsdGeom

        cache = UsdGeom.XformCache(time)
        placed = []
        for prim, colour in self.lights:
            m = np.asarray(cache.GetLocalToWorldTransform(prim), np.float64)
            placed.append((float(np.linalg.norm(m[3, :3] - eye)), tuple(float(v) for v in m[3, :3]), colour))
        placed.sort(key=lambda x: x[0])
        return [(p, c) for _, p, c in placed[:MAX_LIGHTS]]  # type: ignore[misc]


def _stage_lights(stage: Any) -> _Lights:
    from pxr import Usd, UsdGeom, UsdLux

    found = []
    for prim in stage.Traverse():
        if not prim.IsA(UsdLux.SphereLight):
            continue
        if UsdGeom.Imageable(prim).ComputeVisibility() == UsdGeom.Tokens.invisible:
            continue
        light = UsdLux.SphereLight(prim)
        colour = light.GetColorAttr().Get(Usd.TimeCode.Default()) or (1.0, 1.0, 1.0)
        intensity = float(light.GetIntensityAttr().Get(Usd.TimeCode.Default()) or 0.0)
        exposure = float(light.GetExposureAttr().Get(Usd.TimeCode.Default()) or 0.0)
        k = intensity * 2.0**exposure
        found.append((prim, (float(colour[0]) * k, float(colour[1]) * k, float(colour[2]) * k)))
    return _Lights(found)


class _BatchDraw:
    """One point instancer on the GPU: per prototype its triangles and a box stand-in,
    and each frame's instance matrices split into near (full) and far (box) sets."""

    def __init__(self, renderer: Renderer, batch: InstanceBatch, identity_row: int) -> None:
        self.r = renderer
        self.batch = batch
        self.reach = 0.0  # the largest prototype's size: how far behind the camera still shows
        self._split_key: Any = None
        self.parts: dict[int, tuple[Any, dict[Any, Any], Any, Any]] = {}  # proto -> vbo, lit, depth, ibuf
        self.boxes: dict[int, tuple[Any, dict[Any, Any], Any, Any]] = {}
        for k, v in batch.protos.items():
            obj = np.full(len(v.positions), batch.object_index, np.float32)
            self.parts[k] = self._vaos(_interleave(v.positions, v.normals, v.colours, v.prim_index, obj,
                                                   v.surface, v.emission))  # fmt: skip
            lo, hi = batch.boxes[k]
            self.reach = max(self.reach, float(np.linalg.norm(hi - lo)))
            p, n = _card(lo, hi)  # far off, a person is a card of their size facing where they face
            m = len(p)
            self.boxes[k] = self._vaos(_interleave(
                p.astype(np.float32), n, np.ones((m, 3), np.float32), np.full(m, identity_row, np.float32),
                np.full(m, batch.object_index, np.float32), np.full(m, 3.0, np.float32),
                np.zeros(m, np.float32)))  # fmt: skip
        self._time: float | None = None
        self.matrices = np.zeros((0, 4, 4), np.float32)
        self.indices = np.zeros(0, np.int32)
        self.colours = np.zeros((0, 3), np.float32)
        self.near: dict[int, int] = {}
        self.far: dict[int, int] = {}

    def _vaos(self, data: bytes) -> tuple[Any, dict[Any, Any], Any, Any]:
        """The vertices, lit VAOs by lamp count (made when first drawn), a depth VAO, instances."""
        ctx = self.r.ctx
        vbo = ctx.buffer(data)
        ibuf = ctx.buffer(reserve=76)
        depth = ctx.vertex_array(self.r._shadow_i, [(vbo, _SHADOW_LAYOUT, "in_pos", "in_prim"),
                                                    (ibuf, "16f 12x/i", "in_inst")])  # fmt: skip
        return vbo, {}, depth, ibuf

    def _lit(self, parts: tuple[Any, dict[Any, Any], Any, Any], lights: int, shadows: bool, passes: bool) -> Any:
        vbo, lit, _, ibuf = parts
        key = (lights, shadows, passes)
        if key not in lit:
            lit[key] = self.r.ctx.vertex_array(self.r.geometry(True, lights, shadows, passes), [
                (vbo, _LAYOUT, *_NAMES), (ibuf, _INSTANCE_LAYOUT, "in_inst", "in_icol")],
                skip_errors=True)  # fmt: skip
        return lit[key]

    @property
    def casts_shadow(self) -> bool:
        """A few instances do; a big crowd's and the weather's shadows would not show."""
        return self.batch.far != "hide" and len(self.indices) <= SHADOW_FULL_INSTANCES

    def pose(self, time: float) -> None:
        if self._time is not None and (not self.batch.varying or self._time == time):
            return
        self._time = time
        self._split_key = None
        self.matrices, self.indices = instance_transforms(self.batch, time)
        n = len(self.indices)
        colours = self.batch.colours
        if colours is None or len(colours) < n:
            self.colours = np.full((n, 3), 0.6, np.float32)
        else:
            self.colours = colours[:n]

    def split(self, eye: NDArray[np.float64] | None, vp: NDArray[np.float32] | None = None) -> None:
        """Upload this camera's instances per prototype: near ones in full, far ones as
        stand-ins, those outside its view not at all. With no camera (the shadow map): all in
        full when there are few; a big crowd and the weather cast no shadow."""
        n = len(self.indices)
        hide = self.batch.far == "hide"
        key = (None if eye is None or vp is None else (eye.tobytes(), vp.tobytes()), self._time)
        if key == self._split_key:  # the same view of the same instances: already uploaded
            return
        self._split_key = key
        if eye is None or vp is None:
            near = np.ones(n, bool)
            shown = np.full(n, n <= SHADOW_FULL_INSTANCES and not hide)
        else:
            centres = self.matrices[:, 3, :3]
            d = np.linalg.norm(centres - eye.astype(np.float32), axis=1)
            near = d < self.batch.lod_m
            # in the view frustum, give or take an instance's size (USD rows: p . vp = clip)
            clip = centres @ vp[:3, :] + vp[3, :]
            w = clip[:, 3]
            slack = np.abs(w) * 0.06 + self.reach * 2.5
            shown = ((w > -self.reach) & (np.abs(clip[:, 0]) <= w + slack)
                     & (np.abs(clip[:, 1]) <= w + slack))  # fmt: skip
            if hide:
                shown &= near
        self.near, self.far = {}, {}
        for k in self.parts:
            of = (self.indices == k) & shown
            for chosen, target, store in ((of & near, self.parts[k], self.near),
                                          (of & ~near, self.boxes[k], self.far)):  # fmt: skip
                count = int(chosen.sum())
                store[k] = count
                if count:
                    rows = np.concatenate([self.matrices[chosen].reshape(count, 16), self.colours[chosen]],
                                          axis=1).astype(np.float32)  # fmt: skip
                    ibuf = target[3]
                    if ibuf.size < rows.nbytes:
                        ibuf.orphan(rows.nbytes)
                    ibuf.write(rows.tobytes())

    def draw_depth(self, prog: Any, matrix: bytes) -> None:
        """Depth only, of the instances as last split (the shadow map, or the pre-pass: a
        crowd's cards overlap row on row, and each pixel is then shaded once)."""
        _set(prog, "u_xf", 0)
        _set(prog, "u_light", matrix)
        for card, counts, vaos in ((False, self.near, self.parts), (True, self.far, self.boxes)):
            _set(prog, "u_card", card)
            for k, count in counts.items():
                if count:
                    vaos[k][2].render(instances=count)

    def draw_lit(self, lights: int, shadows: bool, passes: bool) -> None:
        prog = self.r.geometry(True, lights, shadows, passes)
        _set(prog, "u_near_cull", WEATHER_NEAR_M if self.batch.far == "hide" else 0.0)
        for card, counts, vaos in ((False, self.near, self.parts), (True, self.far, self.boxes)):
            _set(prog, "u_card", card)
            for k, count in counts.items():
                if count:
                    self._lit(vaos[k], lights, shadows, passes).render(instances=count)

    def release(self) -> None:
        for group in (self.parts, self.boxes):
            for vbo, lit, depth, ibuf in group.values():
                for vao in lit.values():
                    vao.release()
                for obj in (depth, ibuf, vbo):
                    obj.release()


def line_art(depth: NDArray[np.float32], ids: NDArray[np.int32], normals: NDArray[np.float32],
             step: int = 1) -> NDArray[np.uint8]:  # fmt: skip
    """Ink on white where objects meet, depth breaks or surfaces fold (the edge pass).

    A depth break is a jump in the depth's second difference, so a floor seen at a
    grazing angle (steep, but smooth) stays clean. A fold is a turn of the normal
    between neighbours (one minus their dot product).
    """
    edge = _neighbours_differ(ids, step).astype(np.float32)
    z = np.maximum(depth, 1e-3)
    k = step
    for axis in (0, 1):
        d = np.moveaxis(depth, axis, 0)
        e = np.moveaxis(edge, axis, 0)
        bend = np.abs(d[: -2 * k] + d[2 * k :] - 2 * d[k:-k]) / np.moveaxis(z, axis, 0)[k:-k]
        np.maximum(e[k:-k], _smoothstep(0.02, 0.06, bend), out=e[k:-k])
        n = np.moveaxis(normals, axis, 0)
        turn = 1.0 - np.einsum("...c,...c->...", n[:-k], n[k:])
        np.maximum(e[:-k], _smoothstep(0.06, 0.18, turn), out=e[:-k])
    edge[(ids == 0) & ~_neighbours_differ(ids, step)] = 0.0
    out: NDArray[np.uint8] = (255.0 - 255.0 * edge).astype(np.uint8)
    return out


def _neighbours_differ(ids: NDArray[np.int32], step: int) -> NDArray[np.bool_]:
    out = np.zeros(ids.shape, bool)
    out[:-step, :] |= ids[:-step, :] != ids[step:, :]
    out[:, :-step] |= ids[:, :-step] != ids[:, step:]
    return out


def _smoothstep(lo: float, hi: float, x: NDArray[np.float32]) -> NDArray[np.float32]:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    out: NDArray[np.float32] = (t * t * (3 - 2 * t)).astype(np.float32)
    return out


def _mask(fbo: Any, masks: Sequence[tuple[bool, ...]]) -> None:
    """moderngl takes one tuple for a single attachment, a list for several."""
    fbo.color_mask = masks[0] if len(masks) == 1 else masks


def _set(prog: Any, name: str, value: Any) -> None:
    """Set a uniform; one the GLSL compiler optimised away is simply absent."""
    member = prog.get(name, None)
    if member is None:
        return
    if isinstance(value, bytes):
        member.write(value)
    else:
        member.value = value


def _look_at(eye: NDArray[np.float64], target: NDArray[np.float64]) -> NDArray[np.float64]:
    f = target - eye
    f = f / np.linalg.norm(f)
    up = np.array([0.0, 1.0, 0.0]) if abs(f[1]) < 0.99 else np.array([0.0, 0.0, 1.0])
    s = np.cross(f, up)
    s /= np.linalg.norm(s)
    u = np.cross(s, f)
    m = np.eye(4)
    m[0, :3], m[1, :3], m[2, :3] = s, u, -f
    m[:3, 3] = -m[:3, :3] @ eye
    return m


def _ortho(half: float, near: float, far: float) -> NDArray[np.float64]:
    m = np.eye(4)
    m[0, 0] = m[1, 1] = 1.0 / half
    m[2, 2] = -2.0 / (far - near)
    m[2, 3] = -(far + near) / (far - near)
    return m


def load_stage_scene(renderer: Renderer, path: Any) -> StageScene:
    from pxr import Usd

    stage = Usd.Stage.Open(str(path))
    return renderer.load(stage)


__all__ = ["EGL_PACKAGES", "Frame", "Look", "Renderer", "StageScene", "create_context"]
