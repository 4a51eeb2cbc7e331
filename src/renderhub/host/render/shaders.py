"""GLSL for the renderer: the scene's parts, the selection outline and the checkerboard box.

Lighting is Blinn-Phong in camera space: a headlight along the line of sight, a weaker fill
light from the upper left, and ambient. Normals are turned towards the viewer, so double-sided
meshes (drawn without face culling), open ones and inconsistent winding light the same from
both sides; single-sided meshes only show their front faces (the renderer culls the back ones).

Every vertex names its part (`in_part`, within its model); `u_first_slot + in_part` is its
slot, whose row of the state texture (see `state_texture.py`) holds the part's world matrix,
normal matrix, tint and flags. A vertex whose part the current pass does not draw (hidden,
see-through in the opaque pass, opaque in the see-through pass, unselected in the selection
mask, or a slot the state has no row for) is moved outside the clip volume: its triangle is
clipped whole and costs no fragments. A mirroring world matrix (negative determinant) turns
a triangle's winding on screen, so culled ranges are drawn in two draws when a part is
mirrored (`u_side`): the other parts with back faces culled, the mirrored ones with front
faces culled. Cut planes are clip distances (`mesh_vertex`): GL clips the triangles at
them, so no fragment shader discards; each plane count has its own program, the planes
unrolled, and only a fading plane brings fragment code (`mesh_fragment`).
"""

from __future__ import annotations

from renderhub.host.render.geometry import HIDDEN, MAX_CUT_PLANES, SEE_THROUGH, SELECTED

# Values of u_pass.
OPAQUE_PASS = 0
SEE_THROUGH_PASS = 1
SELECTION_PASS = 2

TEXELS_PER_SLOT = 8
SLOTS_PER_ROW = 1024

_LIGHTING = """
const vec3 FILL_DIRECTION = vec3(-0.55, 0.75, 0.37);
const float AMBIENT = 0.18;
const float HEADLIGHT = 0.72;
const float FILL = 0.25;
const float SPECULAR = 0.25;
const float SHININESS = 32.0;

vec3 shade(vec3 base, vec3 normal, vec3 view_position) {
    vec3 to_eye = normalize(-view_position);
    vec3 n = dot(normal, normal) > 1e-20 ? normalize(normal) : to_eye;  // degenerate: lit
    n = dot(n, to_eye) < 0.0 ? -n : n;
    float head = max(dot(n, to_eye), 0.0);  // the light sits at the eye: L = V, so H = V
    float fill = max(dot(n, normalize(FILL_DIRECTION)), 0.0);
    float highlight = pow(head, SHININESS) * SPECULAR;
    return base * (AMBIENT + HEADLIGHT * head + FILL * fill) + vec3(highlight);
}
"""

_MESH_VERTEX = f"""
#version 330
const int TEXELS_PER_SLOT = {TEXELS_PER_SLOT};
const int SLOTS_PER_ROW = {SLOTS_PER_ROW};
const uint HIDDEN = {HIDDEN}u;
const uint SEE_THROUGH = {SEE_THROUGH}u;
const uint SELECTED = {SELECTED}u;
const vec4 OUTSIDE = vec4(2.0, 2.0, 2.0, 1.0);  // beyond every clip plane
uniform mat4 u_view;
uniform mat4 u_projection;
uniform sampler2D u_state;
uniform int u_slots;
uniform int u_first_slot;
uniform int u_pass;
uniform int u_side;  // -1: every part; 0: parts not mirrored only; 1: mirrored ones only
@PLANES@in vec3 in_position;
in vec3 in_normal;
in vec4 in_colour;
in uint in_part;
out vec3 v_normal;
out vec3 v_position;
out vec3 v_world;
out vec3 v_colour;

vec4 texel(int slot, int index) {{
    ivec2 at = ivec2((slot % SLOTS_PER_ROW) * TEXELS_PER_SLOT + index, slot / SLOTS_PER_ROW);
    return texelFetch(u_state, at, 0);
}}

bool drawn(uint flags) {{
    if ((flags & HIDDEN) != 0u) return false;
    bool see_through = (flags & SEE_THROUGH) != 0u;
    if (u_pass == {OPAQUE_PASS}) return !see_through;
    if (u_pass == {SEE_THROUGH_PASS}) return see_through;
    return (flags & SELECTED) != 0u;
}}

void main() {{
    int slot = u_first_slot + int(in_part);
    vec4 normal_x = slot < u_slots ? texel(slot, 4) : vec4(0.0, 0.0, 0.0, {HIDDEN}.0);
    if (!drawn(uint(normal_x.w + 0.5))) {{
        gl_Position = OUTSIDE;
        return;
    }}
    mat4 world = mat4(texel(slot, 0), texel(slot, 1), texel(slot, 2), texel(slot, 3));
    vec4 normal_y = texel(slot, 5);
    if (u_side >= 0 && int(normal_y.w + 0.5) != u_side) {{
        gl_Position = OUTSIDE;
        return;
    }}
    mat3 normal_matrix = mat3(normal_x.xyz, normal_y.xyz, texel(slot, 6).xyz);
    vec4 tint = texel(slot, 7);
    vec4 world_position = world * vec4(in_position, 1.0);
    vec4 position = u_view * world_position;
    v_world = world_position.xyz;
    v_position = position.xyz;
    v_normal = mat3(u_view) * (normal_matrix * in_normal);
    v_colour = mix(in_colour.rgb, tint.rgb, tint.a);
@CLIP@    gl_Position = u_projection * position;
}}
"""


def mesh_vertex(planes: int = 0) -> str:
    """The mesh program's vertex shader for `planes` cut planes: each vertex's distance to
    each plane goes to gl_ClipDistance, so GL clips the triangles at the planes (the
    renderer enables GL_CLIP_DISTANCE0 ..). The fragment shader then never discards, and
    keeps the early depth test: on llvmpipe a discarding plane test cost a 100k-triangle
    720p frame about 5 ms."""
    _check_planes(planes)
    uniforms = _plane_uniform(planes) if planes else ""
    clip = "".join(
        f"    gl_ClipDistance[{i}] = dot(u_planes[{i}].xyz, world_position.xyz)"
        f" + u_planes[{i}].w;\n"
        for i in range(planes)
    )
    return _MESH_VERTEX.replace("@PLANES@", uniforms).replace("@CLIP@", clip)


def _check_planes(planes: int) -> None:
    if not 0 <= planes <= MAX_CUT_PLANES:
        raise ValueError(f"planes must be 0 .. {MAX_CUT_PLANES}, not {planes}.")


def _plane_uniform(planes: int) -> str:
    return f"uniform vec4 u_planes[{planes}];  // world-space normal, then -dot(normal, point)\n"


_MESH_FRAGMENT_HEAD = """
#version 330
uniform int u_pass;
uniform float u_alpha;
in vec3 v_normal;
in vec3 v_position;
in vec3 v_world;
in vec3 v_colour;
out vec4 f_colour;
"""


def _fade(planes: int) -> str:
    """Blend each plane's fade colour into `colour` near it, unrolled (no loop). What lies
    behind a plane never gets here: the vertex shader's clip distances cut it away."""
    return "".join(
        f"""    float d{i} = dot(u_planes[{i}].xyz, v_world) + u_planes[{i}].w;
    if (d{i} < u_fade_lengths[{i}]) {{
        float weight = (1.0 - d{i} / u_fade_lengths[{i}]) * u_fade_colours[{i}].a;
        colour = mix(colour, u_fade_colours[{i}].rgb, weight);
    }}
"""
        for i in range(planes)
    )


def mesh_fragment(planes: int = 0, fade: bool = False) -> str:
    """The mesh program's fragment shader for `planes` cut planes (0 .. MAX_CUT_PLANES):
    the planes' fade, unrolled, only when `fade` (some plane fades); nothing otherwise, as
    the planes cut by clip distances (see mesh_vertex). A plane loop cost llvmpipe about a
    third of a 100k-triangle 720p frame even with no plane set."""
    _check_planes(planes)
    uniforms = ""
    if planes and fade:
        uniforms = _plane_uniform(planes) + (
            f"uniform vec4 u_fade_colours[{planes}];\nuniform float u_fade_lengths[{planes}];\n"
        )
    main = f"""
void main() {{
    if (u_pass == {SELECTION_PASS}) {{
        f_colour = vec4(1.0);  // the mask: no shading
        return;
    }}
    vec3 colour = shade(v_colour, v_normal, v_position);
{_fade(planes) if fade else ""}    f_colour = vec4(colour, u_alpha);
}}
"""
    return _MESH_FRAGMENT_HEAD + _LIGHTING + uniforms + main


FULL_SCREEN_VERTEX = """
#version 330
void main() {
    // One triangle that covers the screen: (-1,-1), (3,-1), (-1,3).
    vec2 corner = vec2(float((gl_VertexID & 1) << 2) - 1.0, float((gl_VertexID & 2) << 1) - 1.0);
    gl_Position = vec4(corner, 0.0, 1.0);
}
"""

# A pixel outside the selection mask within about 2 pixels of it is painted the outline
# colour; all others are discarded. 8 taps: the 4 diagonal neighbours and the 4 pixels 2
# away along the axes (a pixel 1 away along an axis sees the mask through a diagonal tap or
# the one 2 away), the mask's texels read only where the selection rectangle needs them.
OUTLINE_FRAGMENT = """
#version 330
uniform sampler2D u_mask;
uniform vec3 u_outline;
out vec4 f_colour;
const ivec2 TAPS[8] = ivec2[8](
    ivec2(1, 1), ivec2(-1, 1), ivec2(1, -1), ivec2(-1, -1),
    ivec2(2, 0), ivec2(-2, 0), ivec2(0, 2), ivec2(0, -2)
);
void main() {
    ivec2 at = ivec2(gl_FragCoord.xy);
    ivec2 last = textureSize(u_mask, 0) - 1;
    if (texelFetch(u_mask, at, 0).r > 0.5) discard;
    float near = 0.0;
    for (int i = 0; i < 8; ++i) {
        near = max(near, texelFetch(u_mask, clamp(at + TAPS[i], ivec2(0), last), 0).r);
    }
    if (near < 0.5) discard;
    f_colour = vec4(u_outline, 1.0);
}
"""

CHECKER_VERTEX = """
#version 330
uniform mat4 u_view;
uniform mat4 u_projection;
in vec3 in_position;
in vec3 in_normal;
in vec2 in_cell;
out vec3 v_normal;
out vec3 v_position;
out vec2 v_cell;
void main() {
    vec4 position = u_view * vec4(in_position, 1.0);
    v_position = position.xyz;
    v_normal = mat3(u_view) * in_normal;
    v_cell = in_cell;
    gl_Position = u_projection * position;
}
"""

CHECKER_FRAGMENT = (
    """
#version 330
const vec3 BRIGHT = vec3(0.92);
const vec3 DARK = vec3(0.12);
in vec3 v_normal;
in vec3 v_position;
in vec2 v_cell;
out vec4 f_colour;
"""
    + _LIGHTING
    + """
void main() {
    vec2 cell = floor(v_cell);
    bool bright = mod(cell.x + cell.y, 2.0) < 0.5;
    f_colour = vec4(shade(bright ? BRIGHT : DARK, v_normal, v_position), 1.0);
}
"""
)
