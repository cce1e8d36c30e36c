"""Drawing the collapse's layers with OpenGL (moderngl on EGL; llvmpipe without a GPU).

Every layer is drawn in premultiplied scene-linear ACEScg into float targets,
through the same shaken camera (a 2-D affine "view"), and read back:

- ``clean``: the clean plate;
- ``debris``: the shards with their own pixels, motion-blurred by drawing each
  at several instants across the shutter and averaging, plus the chips,
  stretched along their velocity by the shutter.

Image y runs down and row 0 is the top: the projection is flipped so that a
read-back framebuffer comes out in image order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from ...core._gl import create_context
from ._fracture import Fracture

F32 = NDArray[np.float32]
F16 = NDArray[np.float16]

_VIEW = """
uniform vec2 u_size;      // output px
uniform mat3 u_view;      // shake: image px -> image px
vec4 to_clip(vec2 p) {
    vec2 q = (u_view * vec3(p, 1.0)).xy;
    return vec4(q / u_size * 2.0 - 1.0, 0.0, 1.0);  // y flipped: row 0 reads back first
}
"""

_PLATE_VS = (
    "#version 330\n"
    + _VIEW
    + """
in vec2 in_xy;
out vec2 v_uv;
void main() { v_uv = in_xy / u_size; gl_Position = to_clip(in_xy); }
"""
)
_PLATE_FS = """
#version 330
uniform sampler2D u_tex;
in vec2 v_uv;
out vec4 o;
void main() { o = vec4(texture(u_tex, v_uv).rgb, 1.0); }
"""

_SHARD_VS = (
    "#version 330\n"
    + _VIEW
    + """
in vec2 in_corner;                       // 0..1 over the shard's box
in vec4 i_box;                           // x0, y0, x1, y1 in the source image (px)
in vec4 i_pose;                          // centroid at rest (x, y), now (x, y)
in vec4 i_rot;                           // angle (rad), opacity, crack exposure, scale
in vec2 i_atlas;                         // the box's corner in the atlas (px)
uniform vec2 u_atlas_size;
out vec2 v_uv; out float v_opacity; out float v_crack; out vec2 v_turn;
void main() {
    vec2 src = mix(i_box.xy, i_box.zw, in_corner);
    vec2 local = (src - i_pose.xy) * i_rot.w;
    float c = cos(i_rot.x), s = sin(i_rot.x);
    vec2 p = vec2(c * local.x - s * local.y, s * local.x + c * local.y) + i_pose.zw;
    v_uv = (i_atlas + (src - i_box.xy)) / u_atlas_size;
    v_opacity = i_rot.y; v_crack = i_rot.z; v_turn = vec2(c, s);
    gl_Position = to_clip(p);
}
"""
)
_SHARD_FS = """
#version 330
uniform sampler2D u_atlas;               // premultiplied ACEScg + alpha
uniform sampler2D u_faces;               // r: near a crack; g: the rim; ba: outward normal
uniform vec3 u_face_col;                 // broken concrete under the plate's light
uniform vec2 u_sun;                      // the key light's travel in the image plane
uniform float u_weight;                  // 1, or 1/samples when shutter instants are summed
in vec2 v_uv; in float v_opacity; in float v_crack; in vec2 v_turn;
layout(location = 0) out vec4 o;
layout(location = 1) out vec4 o_moved;   // alpha of the pieces that have come loose
void main() {
    vec4 c = texture(u_atlas, v_uv);
    vec4 face = texture(u_faces, v_uv);
    float f = max(face.r, face.g) * v_crack;   // a moving piece's broken edges and thickness
    // the broken face turns with its piece: lit where it faces the key light, in shadow
    // where it faces away, and catching the sky where it faces up
    vec2 n = vec2(v_turn.x * face.b - v_turn.y * face.a, v_turn.y * face.b + v_turn.x * face.a);
    float lit = 0.35 + 0.85 * max(dot(n, -u_sun), 0.0) + 0.2 * max(-n.y, 0.0);
    c.rgb = mix(c.rgb, u_face_col * min(lit, 1.3) * c.a, f);
    o = c * (v_opacity * u_weight);
    o_moved = vec4(o.a * step(0.001, v_crack));
}
"""

_CHIP_VS = (
    "#version 330\n"
    + _VIEW
    + """
in vec2 in_corner;                       // -0.5..0.5
in vec4 i_chip;                          // x, y, vx*shutter, vy*shutter (px)
in vec4 i_look;                          // size, rot, alpha, unused
in vec3 i_col;
out vec3 v_col; out float v_alpha; out vec2 v_q;
void main() {
    vec2 streak = i_chip.zw;
    float len = length(streak);
    vec2 dir = len > 1e-3 ? streak / len : vec2(cos(i_look.y), sin(i_look.y));
    vec2 side = vec2(-dir.y, dir.x);
    float along = i_look.x + len;
    vec2 p = i_chip.xy + dir * in_corner.x * along + side * in_corner.y * i_look.x;
    v_col = i_col; v_alpha = i_look.z * i_look.x / along; v_q = in_corner * 2.0;
    gl_Position = to_clip(p);
}
"""
)
_CHIP_FS = """
#version 330
in vec3 v_col; in float v_alpha; in vec2 v_q;
layout(location = 0) out vec4 o;
layout(location = 1) out vec4 o_moved;
void main() {
    float a = v_alpha * clamp(2.5 - 2.5 * dot(v_q, v_q), 0.0, 1.0);
    o = vec4(v_col * a, a);
    o_moved = vec4(a);
}
"""

_ACCUM_VS = """
#version 330
in vec2 in_xy;
out vec2 v_uv;
void main() { v_uv = in_xy * 0.5 + 0.5; gl_Position = vec4(in_xy, 0.0, 1.0); }
"""
_ACCUM_FS = """
#version 330
uniform sampler2D u_tex; uniform sampler2D u_moved;
in vec2 v_uv;
layout(location = 0) out vec4 o;
layout(location = 1) out vec4 o_moved;
void main() {
    // summed shutter instants: where pieces overlapped the sum passes full cover;
    // scale it back so overlaps read as opaque, not as double brightness
    vec4 c = texture(u_tex, v_uv);
    float k = c.a > 1.0 ? 1.0 / c.a : 1.0;
    o = c * k;
    o_moved = min(texture(u_moved, v_uv), vec4(1.0));
}
"""




@dataclass
class ShardAtlas:
    """Every shard's pixels (premultiplied) and its crack mask, packed into one texture."""

    rgba: F32  # (H, W, 4)
    faces: F32  # (H, W, 4): near a crack (0..1), rim of neighbours' pixels (0/1), outward normal
    offsets: F32  # (n, 2) where each shard's box starts in the atlas
    boxes: F32  # (n, 4) each shard's box in the source image
    centroids: F32  # (n, 2)


def build_atlas(fracture: Fracture, foreground: F32, matte: F32) -> ShardAtlas:
    """Pack shard boxes on shelves, each keeping its own pixels (1 px gutter).

    Each sprite also carries a rim (3 px at 1920) of its neighbours' solid
    pixels (the plate's own), so shards drawn over each other at rest overlap
    instead of meeting edge to edge: resampled edges would otherwise let the sky
    show through every crack. Once a piece moves, its rim turns to broken
    concrete: the thickness of the slab, which is what shows between pieces
    coming apart, not the sky behind the building.
    """
    shards = fracture.shards
    h_img, w_img = matte.shape
    r = max(1, round(0.0016 * max(h_img, w_img)))  # 3 px at 1920
    grown = [(max(0, s.bbox[0] - r), max(0, s.bbox[1] - r), min(w_img, s.bbox[2] + r), min(h_img, s.bbox[3] + r))
             for s in shards]  # fmt: skip
    order = sorted(range(len(shards)), key=lambda i: -(grown[i][3] - grown[i][1]))
    width = int(
        max(
            256,
            min(8192, np.sqrt(sum((b[2] - b[0] + 2) * (b[3] - b[1] + 2) for b in grown)) * 1.25),
        )
    )
    width = max(width, max(b[2] - b[0] + 2 for b in grown))
    offsets = np.zeros((len(shards), 2), np.float32)
    x = y = shelf = 0
    for i in order:
        x0, y0, x1, y1 = grown[i]
        w, h = x1 - x0 + 2, y1 - y0 + 2
        if x + w > width:
            x, y, shelf = 0, y + shelf, 0
        offsets[i] = (x + 1, y + 1)
        x += w
        shelf = max(shelf, h)
    height = y + shelf
    rgba = np.zeros((height, width, 4), np.float32)
    faces = np.zeros((height, width, 4), np.float32)  # crack proximity, rim, outward normal
    rim_kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    for i in range(len(shards)):
        x0, y0, x1, y1 = grown[i]
        ax, ay = int(offsets[i, 0]), int(offsets[i, 1])
        lab = fracture.labels[y0:y1, x0:x1]
        mine = (lab == i).astype(np.uint8)
        # the rim takes only neighbours' solid pixels: a soft edge pixel drawn twice
        # would count its facade twice
        solid = (lab >= 0) & (matte[y0:y1, x0:x1] >= 0.999)
        rim = (cv2.dilate(mine, rim_kernel) & solid & (mine == 0)).astype(np.float32)
        own = np.maximum(mine.astype(np.float32), rim)
        a = matte[y0:y1, x0:x1] * own
        rgba[ay : ay + y1 - y0, ax : ax + x1 - x0, :3] = foreground[y0:y1, x0:x1] * own[..., None]
        rgba[ay : ay + y1 - y0, ax : ax + x1 - x0, 3] = a
        faces[ay : ay + y1 - y0, ax : ax + x1 - x0, 0] = fracture.edge[y0:y1, x0:x1] * own
        faces[ay : ay + y1 - y0, ax : ax + x1 - x0, 1] = rim
        # outward normal of the piece's own outline (down its smoothed mask's slope)
        soft = cv2.GaussianBlur(mine.astype(np.float32), (0, 0), max(1.0, 1.5 * r))
        gx = cv2.Sobel(soft, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(soft, cv2.CV_32F, 0, 1, ksize=3)
        norm = np.sqrt(gx * gx + gy * gy) + 1e-6
        faces[ay : ay + y1 - y0, ax : ax + x1 - x0, 2] = -gx / norm * own
        faces[ay : ay + y1 - y0, ax : ax + x1 - x0, 3] = -gy / norm * own
    boxes = np.array(grown, np.float32)
    cents = np.array([s.centroid for s in shards], np.float32)
    return ShardAtlas(rgba, faces, offsets, boxes, cents)


@dataclass
class Layers:
    """One frame's layers, (h, w, 4) premultiplied half floats (the clean plate's alpha is 1)."""

    clean: F16
    debris: F16
    moved: F16  # (h, w) alpha of the debris that has come loose


class LayerRenderer:
    """Holds the GL context, the textures and the targets for one shot."""

    def __init__(self, width: int, height: int, atlas: ShardAtlas,
                 sun: tuple[float, float] = (0.0, 1.0)) -> None:  # fmt: skip
        self.ctx = ctx = create_context()
        self.info = str(ctx.info.get("GL_RENDERER", "unknown"))
        self.size = (width, height)
        self.atlas = atlas
        self._plate_prog = ctx.program(vertex_shader=_PLATE_VS, fragment_shader=_PLATE_FS)
        self._shard_prog = ctx.program(vertex_shader=_SHARD_VS, fragment_shader=_SHARD_FS)
        self._chip_prog = ctx.program(vertex_shader=_CHIP_VS, fragment_shader=_CHIP_FS)
        self._accum_prog = ctx.program(vertex_shader=_ACCUM_VS, fragment_shader=_ACCUM_FS)
        h_a, w_a = atlas.rgba.shape[:2]
        self._atlas = ctx.texture(
            (w_a, h_a), 4, np.ascontiguousarray(atlas.rgba).tobytes(), dtype="f4"
        )
        self._faces = ctx.texture(
            (w_a, h_a), 4, np.ascontiguousarray(atlas.faces).tobytes(), dtype="f4"
        )
        for tex in (self._atlas, self._faces):
            tex.repeat_x = tex.repeat_y = False
        self._plate: Any = None
        # half-float targets: what the EXRs hold, and read back four times faster than float
        def target(n: int) -> Any:
            return ctx.framebuffer([ctx.texture((width, height), 4, dtype="f2") for _ in range(n)])

        self._debris_fbo = target(2)  # colour, and the loose pieces' alpha
        self._accum_fbo = target(2)
        self._plate_fbo = target(1)
        self._plate_view: tuple[float, ...] | None = None
        self._clean: Any = None
        unit = np.array([0, 0, 1, 0, 0, 1, 1, 1], np.float32)
        centred = np.array([-0.5, -0.5, 0.5, -0.5, -0.5, 0.5, 0.5, 0.5], np.float32)
        ndc = np.array([-1, -1, 1, -1, -1, 1, 1, 1], np.float32)
        self._unit = ctx.buffer(unit.tobytes())
        self._centred = ctx.buffer(centred.tobytes())
        self._ndc = ctx.buffer(ndc.tobytes())
        self._accum_vao = ctx.vertex_array(self._accum_prog, [(self._ndc, "2f", "in_xy")])
        quad = np.array([0, 0, width, 0, 0, height, width, height], np.float32)
        self._plate_vao = ctx.vertex_array(
            self._plate_prog, [(ctx.buffer(quad.tobytes()), "2f", "in_xy")]
        )
        for prog in (self._plate_prog, self._shard_prog, self._chip_prog):
            prog["u_size"].value = (float(width), float(height))
        self._shard_prog["u_atlas_size"].value = (float(w_a), float(h_a))
        self._shard_prog["u_atlas"].value = 0
        self._shard_prog["u_faces"].value = 1
        self._shard_prog["u_weight"].value = 1.0
        self._shard_prog["u_sun"].value = sun
        self._accum_prog["u_tex"].value = 0
        self._accum_prog["u_moved"].value = 1
        self._plate_prog["u_tex"].value = 0
        self._shard_rows: Any = None
        self._chip_rows: Any = None

    def set_plate(self, image: F32) -> None:
        """The clean plate to draw under everything (ACEScg, (h, w, 3))."""
        h, w = image.shape[:2]
        data = np.ascontiguousarray(image, np.float32).tobytes()
        if self._plate is None or self._plate.size != (w, h):
            self._plate = self.ctx.texture((w, h), 3, data, dtype="f4")
            self._plate.repeat_x = self._plate.repeat_y = False
        else:
            self._plate.write(data)
        self._clean = None

    def _set_view(self, view: F32) -> None:
        m = tuple(float(v) for v in np.asarray(view, np.float32).T.reshape(-1))  # column-major
        for prog in (self._plate_prog, self._shard_prog, self._chip_prog):
            prog["u_view"].value = m

    def _read(self, fbo: Any, attachment: int = 0, components: int = 4) -> F16:
        w, h = self.size
        out = np.empty((h, w, components), np.float16)
        fbo.read_into(out, components=components, attachment=attachment, dtype="f2")
        return out

    def render(self, view: F32, static: F32, moving: list[F32], box: tuple[int, int, int, int] | None,
               chips: F32, shutter_s: float, face_colour: tuple[float, float, float]) -> Layers:  # fmt: skip
        """One frame, every layer as half floats.

        ``static`` are the shard rows that hold still through the shutter, drawn
        once; ``moving`` the rows of the others at each shutter instant, averaged
        inside ``box`` (output px: x0, y0, x1, y1) and laid over the static ones.
        Moving pieces are always drawn in front of standing ones.
        """
        ctx = self.ctx
        self._set_view(view)
        ctx.enable_only(0)
        key = tuple(float(v) for v in view.reshape(-1))
        if self._clean is None or key != self._plate_view:  # a still plate under a still camera: once
            self._plate_fbo.use()
            self._plate_fbo.clear(0, 0, 0, 0)
            self._plate.use(0)
            self._plate_vao.render(mode=_STRIP)
            self._clean = self._read(self._plate_fbo)
            self._plate_view = key
        self._shard_prog["u_face_col"].value = face_colour
        debris = self._debris_fbo
        debris.use()
        debris.clear(0, 0, 0, 0)
        self._draw_shards(static)
        if moving and box is not None:
            # every shutter instant of the moving pieces summed at 1/n weight in one target
            # (one draw per instant, no full-screen passes), then laid over the standing ones
            x0, y0, x1, y1 = box
            ctx.scissor = (x0, y0, x1 - x0, y1 - y0)  # rows are image rows: y is flipped already
            self._accum_fbo.use()
            self._accum_fbo.clear(0, 0, 0, 0)
            self._shard_prog["u_weight"].value = 1.0 / len(moving)
            for rows in moving:
                self._draw_shards(rows, additive=True)
            self._shard_prog["u_weight"].value = 1.0
            debris.use()
            ctx.enable(_BLEND)
            ctx.blend_func = (_ONE, _ONE_MINUS_SRC_ALPHA)
            self._accum_fbo.color_attachments[0].use(0)
            self._accum_fbo.color_attachments[1].use(1)
            self._accum_vao.render(mode=_STRIP)
            ctx.disable(_BLEND)
            ctx.scissor = None
        debris.use()
        self._draw_chips(chips, shutter_s)
        colour = self._read(debris)
        moved = self._read(debris, attachment=1, components=1)[..., 0]
        return Layers(self._clean, colour, moved)

    def _instanced(self, prog: Any, corners: Any, buffer: str, rows: F32, layout: str,
                   names: tuple[str, ...], *, additive: bool = False) -> None:  # fmt: skip
        """One quad per row of ``rows`` through ``prog``, premultiplied over (or summed)."""
        if not len(rows):
            return
        ctx = self.ctx
        data = np.ascontiguousarray(rows, np.float32)
        self._ensure(data.nbytes, buffer)
        instances = getattr(self, buffer)
        instances.write(data.tobytes())
        vao = ctx.vertex_array(prog, [(corners, "2f", "in_corner"), (instances, layout, *names)])
        ctx.enable(_BLEND)
        ctx.blend_func = (_ONE, _ONE) if additive else (_ONE, _ONE_MINUS_SRC_ALPHA)
        vao.render(mode=_STRIP, instances=len(data))
        vao.release()
        ctx.disable(_BLEND)

    def _draw_shards(self, rows: F32, additive: bool = False) -> None:
        self._atlas.use(0)
        self._faces.use(1)
        self._instanced(self._shard_prog, self._unit, "_shard_rows", rows, "4f 4f 4f 2f/i",
                        ("i_box", "i_pose", "i_rot", "i_atlas"), additive=additive)  # fmt: skip

    def _ensure(self, nbytes: int, name: str) -> None:
        buf = getattr(self, name, None)
        if buf is None or buf.size < nbytes:
            if buf is not None:
                buf.release()
            setattr(self, name, self.ctx.buffer(reserve=max(nbytes, 64) * 2))

    def _draw_chips(self, chips: F32, shutter_s: float) -> None:
        if not len(chips):
            return
        x, y, vx, vy, size, r, g, b, rot, alpha = chips.T
        rows = np.stack([x, y, vx * shutter_s, vy * shutter_s, size, rot, alpha,
                         np.zeros_like(x), r, g, b], axis=1).astype(np.float32)  # fmt: skip
        self._instanced(self._chip_prog, self._centred, "_chip_rows", rows, "4f 4f 3f/i",
                        ("i_chip", "i_look", "i_col"))  # fmt: skip

    def release(self) -> None:
        self.ctx.release()


_STRIP = 5  # GL_TRIANGLE_STRIP
_BLEND = 1  # moderngl.BLEND
_ONE, _ONE_MINUS_SRC_ALPHA = 1, 0x0303


def shard_rows(atlas: ShardAtlas, pose: F32, opacity: F32, crack: F32, scale: F32,
               order: NDArray[np.intp] | None = None) -> F32:  # fmt: skip
    """Instance rows for the shard pass, drawn in ``order`` (pose, opacity... already in it)."""
    idx = np.arange(len(atlas.boxes)) if order is None else order
    rows = np.concatenate([atlas.boxes[idx], atlas.centroids[idx], pose[:, :2], pose[:, 2:3],
                           opacity[:, None], crack[:, None], scale[:, None], atlas.offsets[idx]],
                          axis=1)  # fmt: skip
    return np.asarray(rows[opacity > 1e-3], np.float32)
