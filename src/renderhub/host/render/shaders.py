"""GLSL for the renderer: lit meshes and the checkerboard box.

Lighting is Blinn-Phong in camera space: a headlight along the line of sight, a weaker fill
light from the upper left, and ambient. Normals are turned towards the viewer, so double-sided
meshes (drawn without face culling), open ones and inconsistent winding light the same from
both sides; single-sided meshes only show their front faces (the renderer culls the back ones).
"""

from __future__ import annotations

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

MESH_VERTEX = """
#version 330
uniform mat4 u_view;
uniform mat4 u_projection;
in vec3 in_position;
in vec3 in_normal;
in vec4 in_colour;
out vec3 v_normal;
out vec3 v_position;
out vec3 v_colour;
void main() {
    vec4 position = u_view * vec4(in_position, 1.0);
    v_position = position.xyz;
    v_normal = mat3(u_view) * in_normal;
    v_colour = in_colour.rgb;
    gl_Position = u_projection * position;
}
"""

MESH_FRAGMENT = (
    """
#version 330
in vec3 v_normal;
in vec3 v_position;
in vec3 v_colour;
out vec4 f_colour;
"""
    + _LIGHTING
    + """
void main() {
    f_colour = vec4(shade(v_colour, v_normal, v_position), 1.0);
}
"""
)

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
