// Prepended to every kernel file. Parameters arrive as 64 u32 words in a 256-byte uniform
// window (floats bit-cast); inputs are bound from 1, outputs from 8.
struct Params { v: array<vec4<u32>, 16> }
@group(0) @binding(0) var<uniform> P: Params;
fn pu(i: u32) -> u32 { return P.v[i >> 2u][i & 3u]; }
fn pf(i: u32) -> f32 { return bitcast<f32>(pu(i)); }
// Workgroups beyond the 65535-per-dimension limit come as a 2-D grid; this linearises it.
fn flat_id(wg: vec3<u32>, nwg: vec3<u32>) -> u32 { return wg.x + wg.y * nwg.x; }
