//! The two Winograd tiles the 4x4 stride-2 passes (`conv_winograd`, `conv_winograd_weight`)
//! run on, F(2x2, 2x2) and F(4x4, 2x2).
//!
//! F(m x m, 2x2) computes an m x m block of a 2x2 correlation's outputs from an `a x a` block
//! of its inputs (`a = m + 1`) with `a^2` products instead of `4 m^2`:
//! `Y = A^T [(G g G^T) . (B^T d B)] A`. F(2x2) does 9 for 16, every coefficient 0 or +-1 (no
//! rounding beyond the sums' own); F(4x4) 25 for 64, 1.44x fewer again, at the points 0, 1,
//! -1, -2 and infinity, of the usual choices the one with the smallest error (about 1e-6 of a
//! unit input in f32, against 1e-7 for F(2x2)).
//!
//! Each tile's five one-dimensional transforms are written out by hand, generic over the
//! lanes they run on (8 channels of a `__m256`, or one `f32`), so that the zeros and ones of
//! the matrices cost nothing and shared sums are formed once; the matrices themselves are in
//! the tests, which check the one against the other.

use std::arch::x86_64::*;

/// What the transforms compute with: 8 lanes of AVX2 or one scalar.
pub(super) trait Lanes: Copy {
    /// `self + o`.
    ///
    /// # Safety
    /// AVX2 and FMA present (for the vector lanes).
    unsafe fn add(self, o: Self) -> Self;
    /// `self - o`.
    ///
    /// # Safety
    /// As [`Lanes::add`].
    unsafe fn sub(self, o: Self) -> Self;
    /// `c * self + o`.
    ///
    /// # Safety
    /// As [`Lanes::add`].
    unsafe fn mul_add(self, c: f32, o: Self) -> Self;
    /// `c * self`.
    ///
    /// # Safety
    /// As [`Lanes::add`].
    unsafe fn scale(self, c: f32) -> Self;
}

impl Lanes for f32 {
    #[inline]
    unsafe fn add(self, o: f32) -> f32 {
        self + o
    }
    #[inline]
    unsafe fn sub(self, o: f32) -> f32 {
        self - o
    }
    #[inline]
    unsafe fn mul_add(self, c: f32, o: f32) -> f32 {
        c * self + o
    }
    #[inline]
    unsafe fn scale(self, c: f32) -> f32 {
        c * self
    }
}

impl Lanes for __m256 {
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn add(self, o: __m256) -> __m256 {
        _mm256_add_ps(self, o)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn sub(self, o: __m256) -> __m256 {
        _mm256_sub_ps(self, o)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn mul_add(self, c: f32, o: __m256) -> __m256 {
        _mm256_fmadd_ps(_mm256_set1_ps(c), self, o)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn scale(self, c: f32) -> __m256 {
        _mm256_mul_ps(_mm256_set1_ps(c), self)
    }
}

/// A Winograd tile F(M x M, 2 x 2) with `A = M + 1` transformed points per side: its
/// matrices, and their products with a column of lanes.
///
/// Every method is `unsafe` for the vector lanes: AVX2 and FMA must be present.
pub(super) trait Tile<const M: usize, const A: usize> {
    /// `B^T x`: a column of input pixels to the transformed points.
    unsafe fn bt<L: Lanes>(x: [L; A]) -> [L; A];
    /// `A^T x`: a column of the transformed products to outputs.
    unsafe fn at<L: Lanes>(x: [L; A]) -> [L; M];
    /// `A x`: a column of output gradients to the transformed points (the weight gradient's
    /// transform of `dy`).
    unsafe fn a<L: Lanes>(x: [L; M]) -> [L; A];
    /// `G x`: a column of a 2x2 kernel to the transformed points.
    unsafe fn g<L: Lanes>(x: [L; 2]) -> [L; A];
    /// `G^T x`: a column of transformed points back to kernel taps (the weight gradient's
    /// output transform).
    unsafe fn gt<L: Lanes>(x: [L; A]) -> [L; 2];
    /// The `8 M` values of a row of 8 consecutive tiles (`M` vectors) as the tiles' columns:
    /// lane l of vector j is value `M l + j`.
    unsafe fn tile_columns(x: [__m256; M]) -> [__m256; M];
}

/// F(2x2, 2x2).
pub(super) struct F2;
impl Tile<2, 3> for F2 {
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn bt<L: Lanes>([d0, d1, d2]: [L; 3]) -> [L; 3] {
        [d0.sub(d1), d1, d2.sub(d1)]
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn at<L: Lanes>([m0, m1, m2]: [L; 3]) -> [L; 2] {
        [m0.add(m1), m1.add(m2)]
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn a<L: Lanes>([f0, f1]: [L; 2]) -> [L; 3] {
        [f0, f0.add(f1), f1]
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn g<L: Lanes>([g0, g1]: [L; 2]) -> [L; 3] {
        [g0, g0.add(g1), g1]
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn gt<L: Lanes>([m0, m1, m2]: [L; 3]) -> [L; 2] {
        [m0.add(m1), m1.add(m2)]
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn tile_columns([v0, v1]: [__m256; 2]) -> [__m256; 2] {
        // Even and odd values of each 128-bit half, then the halves' 64-bit pairs in order.
        let even = _mm256_castps_pd(_mm256_shuffle_ps::<0b10_00_10_00>(v0, v1));
        let odd = _mm256_castps_pd(_mm256_shuffle_ps::<0b11_01_11_01>(v0, v1));
        [
            _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(even)),
            _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(odd)),
        ]
    }
}

/// F(4x4, 2x2) at the points 0, 1, -1, -2 and infinity.
pub(super) struct F4;
impl Tile<4, 5> for F4 {
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn bt<L: Lanes>([d0, d1, d2, d3, d4]: [L; 5]) -> [L; 5] {
        let (t, u) = (d3.sub(d1), d2.add(d3));
        [
            d2.sub(d0).mul_add(2.0, t),
            d1.add(d2).mul_add(2.0, u),
            d1.mul_add(-2.0, u),
            t,
            t.mul_add(2.0, d4.sub(d2)),
        ]
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn at<L: Lanes>([m0, m1, m2, m3, m4]: [L; 5]) -> [L; 4] {
        let (p, q) = (m1.add(m2), m1.sub(m2));
        [
            m0.add(p).add(m3),
            m3.mul_add(-2.0, q),
            m3.mul_add(4.0, p),
            m3.mul_add(-8.0, q).add(m4),
        ]
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn a<L: Lanes>([f0, f1, f2, f3]: [L; 4]) -> [L; 5] {
        let (p, q) = (f0.add(f2), f1.add(f3));
        [
            f0,
            p.add(q),
            p.sub(q),
            f2.mul_add(4.0, f0).sub(f3.mul_add(4.0, f1).scale(2.0)),
            f3,
        ]
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn g<L: Lanes>([g0, g1]: [L; 2]) -> [L; 5] {
        [
            g0.scale(-0.5),
            g0.add(g1).scale(1.0 / 6.0),
            g0.sub(g1).scale(0.5),
            g1.mul_add(2.0, g0.scale(-1.0)).scale(1.0 / 6.0),
            g1,
        ]
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn gt<L: Lanes>([m0, m1, m2, m3, m4]: [L; 5]) -> [L; 2] {
        [
            m2.sub(m0).scale(0.5).add(m1.sub(m3).scale(1.0 / 6.0)),
            m1.mul_add(1.0 / 6.0, m3.scale(1.0 / 3.0))
                .add(m4)
                .sub(m2.scale(0.5)),
        ]
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn tile_columns([v0, v1, v2, v3]: [__m256; 4]) -> [__m256; 4] {
        // Tiles (0 | 4), (1 | 5), (2 | 6), (3 | 7) in the two halves, then a 4 x 4 transpose
        // within each half.
        let w0 = _mm256_permute2f128_ps::<0x20>(v0, v2);
        let w1 = _mm256_permute2f128_ps::<0x31>(v0, v2);
        let w2 = _mm256_permute2f128_ps::<0x20>(v1, v3);
        let w3 = _mm256_permute2f128_ps::<0x31>(v1, v3);
        let (t0, t1) = (_mm256_unpacklo_ps(w0, w1), _mm256_unpackhi_ps(w0, w1));
        let (t2, t3) = (_mm256_unpacklo_ps(w2, w3), _mm256_unpackhi_ps(w2, w3));
        [
            _mm256_shuffle_ps::<0x44>(t0, t2),
            _mm256_shuffle_ps::<0xEE>(t0, t2),
            _mm256_shuffle_ps::<0x44>(t1, t3),
            _mm256_shuffle_ps::<0xEE>(t1, t3),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The matrices each tile's transforms multiply by.
    trait Matrices<const M: usize, const A: usize>: Tile<M, A> {
        /// Input transform `B^T` (`A x A`).
        const BT: [[f32; A]; A];
        /// Output transform `A^T` (`M x A`).
        const AT: [[f32; A]; M];
        /// Kernel transform `G` (`A x 2`).
        const G: [[f32; 2]; A];
    }
    impl Matrices<2, 3> for F2 {
        const BT: [[f32; 3]; 3] = [[1.0, -1.0, 0.0], [0.0, 1.0, 0.0], [0.0, -1.0, 1.0]];
        const AT: [[f32; 3]; 2] = [[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]];
        const G: [[f32; 2]; 3] = [[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
    }
    impl Matrices<4, 5> for F4 {
        const BT: [[f32; 5]; 5] = [
            [-2.0, -1.0, 2.0, 1.0, 0.0],
            [0.0, 2.0, 3.0, 1.0, 0.0],
            [0.0, -2.0, 1.0, 1.0, 0.0],
            [0.0, -1.0, 0.0, 1.0, 0.0],
            [0.0, -2.0, -1.0, 2.0, 1.0],
        ];
        const AT: [[f32; 5]; 4] = [
            [1.0, 1.0, 1.0, 1.0, 0.0],
            [0.0, 1.0, -1.0, -2.0, 0.0],
            [0.0, 1.0, 1.0, 4.0, 0.0],
            [0.0, 1.0, -1.0, -8.0, 1.0],
        ];
        const G: [[f32; 2]; 5] = [
            [-1.0 / 2.0, 0.0],
            [1.0 / 6.0, 1.0 / 6.0],
            [1.0 / 2.0, -1.0 / 2.0],
            [-1.0 / 6.0, 1.0 / 3.0],
            [0.0, 1.0],
        ];
    }

    /// `U = G g G^T` (`A x A`) of a 2x2 kernel `g`.
    ///
    /// # Safety
    /// AVX2 and FMA present.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn kernel_transform<const M: usize, const A: usize, T: Tile<M, A>>(
        g: [[f32; 2]; 2],
    ) -> [[f32; A]; A] {
        // G along the columns of g, then along the rows of G g.
        let cols = [T::g([g[0][0], g[1][0]]), T::g([g[0][1], g[1][1]])];
        let mut u = [[0f32; A]; A];
        for (x, ux) in u.iter_mut().enumerate() {
            *ux = T::g([cols[0][x], cols[1][x]]);
        }
        u
    }

    /// `y = f(unit vector j)` for each j: the matrix a transform multiplies by.
    fn matrix<const I: usize, const O: usize>(f: impl Fn([f32; I]) -> [f32; O]) -> [[f32; I]; O] {
        let cols: [[f32; O]; I] =
            std::array::from_fn(|j| f(std::array::from_fn(|i| if i == j { 1.0 } else { 0.0 })));
        std::array::from_fn(|o| std::array::from_fn(|i| cols[i][o]))
    }

    fn transpose<const R: usize, const C: usize>(m: [[f32; C]; R]) -> [[f32; R]; C] {
        std::array::from_fn(|j| std::array::from_fn(|i| m[i][j]))
    }

    fn assert_same<const R: usize, const C: usize>(
        what: &str,
        got: [[f32; C]; R],
        want: [[f32; C]; R],
    ) {
        for (gr, wr) in got.iter().zip(&want) {
            for (g, w) in gr.iter().zip(wr) {
                assert!((g - w).abs() < 1e-6, "{what}: {got:?} vs {want:?}");
            }
        }
    }

    /// The hand-written transforms are the matrices, and the matrices compute the correlation:
    /// `A^T [(G g G^T) . (B^T d B)] A` of random blocks against the direct sum, in f64 through
    /// the f32 matrices, so that a wrong coefficient shows far above rounding.
    fn check<const M: usize, const A: usize, T: Matrices<M, A>>() {
        if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
            return;
        }
        // SAFETY: AVX2 and FMA are present.
        unsafe {
            assert_same("B^T", matrix(|x| T::bt::<f32>(x)), T::BT);
            assert_same("A^T", matrix(|x| T::at::<f32>(x)), T::AT);
            assert_same("A", matrix(|x| T::a::<f32>(x)), transpose(T::AT));
            assert_same("G", matrix(|x| T::g::<f32>(x)), T::G);
            assert_same("G^T", matrix(|x| T::gt::<f32>(x)), transpose(T::G));
        }
        let mut s = 0x2545F4914F6CDD1Du64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f64 / (1u64 << 24) as f64 - 0.5
        };
        // `L x R^T` for `x` of `n x n`, L and R `A x n`: both sides of a 2D transform.
        fn sandwich<const N: usize, const A: usize>(
            l: &[[f32; N]; A],
            x: &[[f64; N]; N],
        ) -> [[f64; A]; A] {
            std::array::from_fn(|p| {
                std::array::from_fn(|q| {
                    let mut sum = 0.0;
                    for i in 0..N {
                        for j in 0..N {
                            sum += l[p][i] as f64 * x[i][j] * l[q][j] as f64;
                        }
                    }
                    sum
                })
            })
        }
        for _ in 0..50 {
            let g: [[f64; 2]; 2] = std::array::from_fn(|_| std::array::from_fn(|_| next()));
            let d: [[f64; A]; A] = std::array::from_fn(|_| std::array::from_fn(|_| next()));
            let (u, v) = (sandwich(&T::G, &g), sandwich(&T::BT, &d));
            let uv: [[f64; A]; A] =
                std::array::from_fn(|p| std::array::from_fn(|q| u[p][q] * v[p][q]));
            let y = sandwich(&T::AT, &uv);
            for i in 0..M {
                for j in 0..M {
                    let want: f64 = (0..2)
                        .flat_map(|r| (0..2).map(move |t| (r, t)))
                        .map(|(r, t)| g[r][t] * d[i + r][j + t])
                        .sum();
                    let got = y[i][j];
                    assert!(
                        (got - want).abs() < 1e-6,
                        "F({M}) ({i}, {j}): {got} vs {want}"
                    );
                }
            }
            // SAFETY: AVX2 and FMA are present.
            let uk = unsafe { kernel_transform::<M, A, T>(g.map(|r| r.map(|v| v as f32))) };
            assert_same("G g G^T", uk, u.map(|r| r.map(|v| v as f32)));
        }
    }

    /// `tile_columns` on the values 0..8M: lane l of column j holds `M l + j`.
    fn check_tile_columns<const M: usize, const A: usize, T: Tile<M, A>>() {
        if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
            return;
        }
        let vals: Vec<f32> = (0..8 * M).map(|v| v as f32).collect();
        // SAFETY: AVX2 and FMA are present; vals holds M vectors.
        let cols = unsafe {
            let mut x = [_mm256_setzero_ps(); M];
            for (j, xj) in x.iter_mut().enumerate() {
                *xj = _mm256_loadu_ps(vals[8 * j..].as_ptr());
            }
            T::tile_columns(x)
        };
        for (j, col) in cols.iter().enumerate() {
            let mut lanes = [0f32; 8];
            // SAFETY: AVX2 is present; lanes holds 8 floats.
            unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), *col) };
            let want: Vec<f32> = (0..8).map(|l| (M * l + j) as f32).collect();
            assert_eq!(&lanes[..], &want[..], "F({M}) column {j}");
        }
    }

    #[test]
    fn tile_columns_split_a_row_of_tiles() {
        check_tile_columns::<2, 3, F2>();
        check_tile_columns::<4, 5, F4>();
    }

    #[test]
    fn tiles_compute_the_correlation() {
        check::<2, 3, F2>();
        check::<4, 5, F4>();
    }
}
