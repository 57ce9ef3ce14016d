//! Typed kernel parameters: one `#[repr(C)]` [`bytemuck::Pod`] struct per shader file,
//! uploaded into the 256-byte uniform window at binding 0.
//!
//! Each struct is declared once, with [`kernel_params!`], which also generates its WGSL mirror
//! (`struct ConvParams { n: u32, ... }` plus `var<uniform> P: ConvParams;`) with the same field
//! names in the same order. The mirror is prepended to the shader file when its module is
//! built, so the Rust and WGSL layouts cannot disagree; shaders read `P.c_in`, not `p[1]`.
//! Uniform layout rules are checked at compile time: scalar fields sit at multiples of 4,
//! `[u32; 8]` fields (WGSL `array<vec4<u32>, 2>`) at multiples of 16, and the whole struct fits
//! the window.

use super::exec::PARAM_BYTES;

/// A Rust field type with a WGSL uniform-address-space counterpart of the same layout.
pub(crate) trait WgslField {
    /// The WGSL type.
    const WGSL: &'static str;
    /// Its alignment in the uniform address space.
    const ALIGN: usize;
}

impl WgslField for u32 {
    const WGSL: &'static str = "u32";
    const ALIGN: usize = 4;
}
impl WgslField for i32 {
    const WGSL: &'static str = "i32";
    const ALIGN: usize = 4;
}
impl WgslField for f32 {
    const WGSL: &'static str = "f32";
    const ALIGN: usize = 4;
}
/// Eight u32s (dims or strides of up to 8 axes); read in WGSL with `at8(P.dims, i)`.
impl WgslField for [u32; 8] {
    const WGSL: &'static str = "array<vec4<u32>, 2>";
    const ALIGN: usize = 16;
}

/// A kernel parameter block: plain data with a generated WGSL declaration.
pub(crate) trait KernelParams: bytemuck::Pod {
    /// The struct's name, in Rust and WGSL.
    const NAME: &'static str;
    /// `struct NAME { field: type, ... }` and the binding-0 uniform `P` of that type.
    fn wgsl() -> String;
}

/// Declares a `#[repr(C)]` Pod parameter struct and its WGSL mirror (see the module docs).
macro_rules! kernel_params {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
        pub(crate) struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
        }
        const _: () = {
            assert!(std::mem::size_of::<$name>() <= PARAM_BYTES);
            $(assert!(
                std::mem::offset_of!($name, $field) % <$ty as WgslField>::ALIGN == 0,
                concat!(stringify!($name), ".", stringify!($field), " breaks WGSL uniform alignment")
            );)*
        };
        impl KernelParams for $name {
            const NAME: &'static str = stringify!($name);
            fn wgsl() -> String {
                let mut s = format!("struct {} {{\n", stringify!($name));
                $(s.push_str(&format!("    {}: {},\n", stringify!($field), <$ty as WgslField>::WGSL));)*
                s.push_str(&format!(
                    "}}\n@group(0) @binding(0) var<uniform> P: {};\n",
                    stringify!($name)
                ));
                s
            }
        }
    };
}

kernel_params!(
    /// `shaders/unary.wgsl`: the op's two constants (the op itself is a pipeline constant).
    UnaryParams {
        /// Invocations (vec4s).
        n4: u32,
        /// First op constant (slope, lo, exponent, scale).
        p0: f32,
        /// Second op constant (hi, offset).
        p1: f32,
    }
);

kernel_params!(
    /// `shaders/binary4.wgsl`: contiguous operands.
    Binary4Params {
        /// Invocations (vec4s).
        n4: u32,
    }
);

kernel_params!(
    /// `shaders/binary.wgsl`: broadcasting through per-operand strides.
    BinaryParams {
        /// Output elements.
        n: u32,
        /// Axes after merging contiguous runs.
        rank: u32,
        /// Padding to the 16-byte boundary of `dims`.
        pad0: u32,
        /// Padding.
        pad1: u32,
        /// Output dims.
        dims: [u32; 8],
        /// Strides of `a` over the output dims (0 on broadcast axes).
        a_strides: [u32; 8],
        /// Strides of `b`.
        b_strides: [u32; 8],
    }
);

kernel_params!(
    /// `shaders/reduce.wgsl`: the kept and reduced (dim, stride) lists of the input.
    ReduceParams {
        /// Outputs.
        n_out: u32,
        /// Kept dims in use.
        n_kept: u32,
        /// Reduced dims in use.
        n_red_dims: u32,
        /// Elements reduced into each output.
        n_red: u32,
        /// Reduction elements per chunk (tree kernel).
        chunk_len: u32,
        /// Chunks per output (tree kernel).
        n_chunks: u32,
        /// 1.0 at run time: hides (a + b) - a from the driver's simplifier (Kahan carry).
        one: f32,
        /// Padding to the 16-byte boundary of `kept_dims`.
        pad0: u32,
        /// Kept dims.
        kept_dims: [u32; 8],
        /// Kept strides.
        kept_strides: [u32; 8],
        /// Reduced dims.
        red_dims: [u32; 8],
        /// Reduced strides.
        red_strides: [u32; 8],
    }
);

kernel_params!(
    /// `shaders/layout.wgsl`: every data-movement entry point (unused fields are zero).
    LayoutParams {
        /// Output elements (of this part, for `place`).
        n: u32,
        /// `strided`: axes after merging.
        rank: u32,
        /// `window`: output length of the axis; `place`: length of the part's axis.
        len_out: u32,
        /// Elements after the axis.
        inner: u32,
        /// `window`: input length of the axis; `place`, `select_rows`, `add_rows`: the full
        /// axis length.
        len_in: u32,
        /// `window`: input index minus output index along the axis.
        shift: i32,
        /// `place`: offset of the part along the axis.
        at: u32,
        /// `select_rows`, `add_rows`: number of indices.
        k: u32,
        /// `fill`: the value.
        value: f32,
        /// Padding to the 16-byte boundary of `dims`.
        pad0: u32,
        /// Padding.
        pad1: u32,
        /// Padding.
        pad2: u32,
        /// `strided`: output dims.
        dims: [u32; 8],
        /// `strided`: input strides.
        strides: [u32; 8],
    }
);

kernel_params!(
    /// `shaders/matmul_*.wgsl`: `C[b] = op(A[b]) op(B[b])`.
    MatmulParams {
        /// Rows of C.
        m: u32,
        /// Columns of C.
        n: u32,
        /// Inner dimension.
        k: u32,
        /// Elements between consecutive A's (0: one shared A).
        a_stride: u32,
        /// Elements between consecutive B's (0: one shared B).
        b_stride: u32,
    }
);

kernel_params!(
    /// `shaders/conv.wgsl`, `conv_tiled.wgsl`, `im2col.wgsl`: the geometry plus per-entry
    /// work splits (zero where an entry does not use them).
    ConvParams {
        /// Images.
        n: u32,
        /// Input channels.
        c_in: u32,
        /// Input height.
        h: u32,
        /// Input width.
        w: u32,
        /// Output channels.
        c_out: u32,
        /// Kernel height.
        kh: u32,
        /// Kernel width.
        kw: u32,
        /// Row stride.
        sh: u32,
        /// Column stride.
        sw: u32,
        /// Row padding.
        ph: u32,
        /// Column padding.
        pw: u32,
        /// Output height.
        oh: u32,
        /// Output width.
        ow: u32,
        /// `forward`, `backward_weight`: 64-column groups.
        col_groups: u32,
        /// `backward_data`: pixel blocks per (image, stride phase) group.
        blocks_per_group: u32,
        /// `backward_data`: pixel blocks in all groups.
        n_blocks: u32,
        /// `backward_weight` (both families): reduction rows (tiled: pixels) per split.
        rows_per_split: u32,
        /// `im2col`: first image of this call.
        first_image: u32,
        /// `im2col`: images in this call.
        images: u32,
        /// `im2col`, `col2im`: images per group of the column matrix.
        images_per_group: u32,
    }
);

impl ConvParams {
    /// The geometry fields of `g`; every work split zero.
    pub(crate) fn of(g: &crate::geometry::Conv2dGeometry) -> ConvParams {
        ConvParams {
            n: g.n as u32,
            c_in: g.c_in as u32,
            h: g.h as u32,
            w: g.w as u32,
            c_out: g.c_out as u32,
            kh: g.kh as u32,
            kw: g.kw as u32,
            sh: g.stride.0 as u32,
            sw: g.stride.1 as u32,
            ph: g.padding.0 as u32,
            pw: g.padding.1 as u32,
            oh: g.oh as u32,
            ow: g.ow as u32,
            images_per_group: 1,
            ..ConvParams::default()
        }
    }
}

kernel_params!(
    /// `shaders/pool.wgsl`: average pooling and bilinear resize (k, stride unused there).
    PoolParams {
        /// Outputs of this entry point.
        n: u32,
        /// Planes (batch x channels).
        nc: u32,
        /// Input height.
        h: u32,
        /// Input width.
        w: u32,
        /// Output height.
        oh: u32,
        /// Output width.
        ow: u32,
        /// Pooling window.
        k: u32,
        /// Pooling stride.
        stride: u32,
    }
);

kernel_params!(
    /// `shaders/optim.wgsl`: Adam and SGD (each reads its own fields).
    OptimParams {
        /// Parameters.
        n: u32,
        /// SGD learning rate.
        lr: f32,
        /// SGD momentum.
        momentum: f32,
        /// L2 weight decay (both).
        weight_decay: f32,
        /// Adam first-moment decay.
        beta1: f32,
        /// Adam second-moment decay.
        beta2: f32,
        /// Adam denominator epsilon.
        eps: f32,
        /// Adam lr / (1 - beta1^t).
        step_size: f32,
        /// Adam 1 / sqrt(1 - beta2^t).
        inv_sqrt_bc2: f32,
    }
);

kernel_params!(
    /// `shaders/rng.wgsl`: Philox key.
    RngParams {
        /// Values to write.
        n: u32,
        /// Seed, low 32 bits.
        key_lo: u32,
        /// Seed, high 32 bits.
        key_hi: u32,
    }
);

/// `v` (at most 8 entries) in the fixed 8-slot array of a parameter struct.
pub(crate) fn slots8(v: impl IntoIterator<Item = usize>) -> [u32; 8] {
    let mut out = [0u32; 8];
    for (o, x) in out.iter_mut().zip(v) {
        *o = x as u32;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wgsl_mirror_lists_every_field_in_order() {
        let s = BinaryParams::wgsl();
        let fields: Vec<&str> = s
            .lines()
            .filter_map(|l| l.trim().split_once(':').map(|(f, _)| f))
            .filter(|f| !f.contains(' '))
            .collect();
        assert_eq!(
            fields,
            [
                "n",
                "rank",
                "pad0",
                "pad1",
                "dims",
                "a_strides",
                "b_strides"
            ]
        );
        assert!(s.contains("dims: array<vec4<u32>, 2>,"));
        assert!(s.contains("var<uniform> P: BinaryParams;"));
        // The Rust layout is the WGSL one: dims at byte 16, 3 x 32 bytes of arrays after it.
        assert_eq!(std::mem::offset_of!(BinaryParams, dims), 16);
        assert_eq!(std::mem::size_of::<BinaryParams>(), 16 + 3 * 32);
    }

    #[test]
    fn conv_params_carry_the_geometry() {
        let g = crate::geometry::Conv2dGeometry::new([2, 3, 9, 7], 5, (4, 3), (2, 1), (1, 0))
            .expect("valid geometry");
        let p = ConvParams::of(&g);
        assert_eq!((p.n, p.c_in, p.h, p.w, p.c_out), (2, 3, 9, 7, 5));
        assert_eq!((p.kh, p.kw, p.sh, p.sw, p.ph, p.pw), (4, 3, 2, 1, 1, 0));
        assert_eq!((p.oh, p.ow), (4, 5));
        assert_eq!((p.col_groups, p.images_per_group), (0, 1));
    }
}
