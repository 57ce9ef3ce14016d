// Prepended to every kernel file, followed by the declaration of its parameter struct and the
// uniform `P` at binding 0 (generated from the Rust struct in crates/tensor/src/gpu/params.rs;
// `[u32; 8]` fields arrive as array<vec4<u32>, 2>). Inputs are bound from 1, outputs from 8.
// Workgroups beyond the 65535-per-dimension limit come as a 2-D grid; this linearises it.
fn flat_id(wg: vec3<u32>, nwg: vec3<u32>) -> u32 { return wg.x + wg.y * nwg.x; }
